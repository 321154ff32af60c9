"""The directory sources a service has (SCIM, Slack, Teams, ...): each a name and a full sync.
`enrolbot directory sync`, the nightly job and `group sync` run them all, or one by name.

A source's `full_sync(run)` fetches everything it keeps, then calls `run.apply(snapshot)` (one
transaction, with the safety threshold); raising means the fetch failed, and nothing changes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.directory.sync import (
    DEFAULT_MAX_REMOVAL_PERCENT,
    Snapshot,
    SyncResult,
    apply_snapshot,
)

log = logging.getLogger(__name__)

NO_SOURCES = (
    "No directory source is set up: connect SCIM provisioning, a Slack user group or channel, "
    "or a Teams team (see docs/people-and-groups.md), or import files with "
    "`enrolbot users import` and `enrolbot groups import`."
)


@dataclass
class SyncRun:
    """What a source's full sync is given: where to write, and the rule it is held to."""

    sessions: async_sessionmaker[AsyncSession]
    organisation_id: int
    max_removal_percent: float = DEFAULT_MAX_REMOVAL_PERCENT
    force: bool = False
    bootstrap_admins: frozenset[str] = frozenset()
    results: list[SyncResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # sentences a source adds to its report

    def note(self, sentence: str) -> None:
        """A sentence for the sync's report (something an admin should fix at the source)."""
        self.notes.append(sentence)

    async def apply(self, snapshot: Snapshot) -> SyncResult:
        async with self.sessions() as session, session.begin():
            result = await apply_snapshot(
                session,
                self.organisation_id,
                snapshot,
                max_removal_percent=self.max_removal_percent,
                force=self.force,
                bootstrap_admins=self.bootstrap_admins,
            )
        self.results.append(result)
        return result


FullSync = Callable[[SyncRun], Awaitable[object]]


@dataclass(frozen=True)
class DirectorySource:
    name: str  # what `enrolbot directory sync --source` and `group sync` call it
    full_sync: FullSync


class DirectorySources:
    """The registry: each source once, by name."""

    def __init__(self) -> None:
        self._sources: dict[str, DirectorySource] = {}

    def add(self, source: DirectorySource) -> DirectorySource:
        if source.name in self._sources:
            raise ValueError(f"a directory source named {source.name} is already registered")
        self._sources[source.name] = source
        return source

    def __iter__(self) -> Iterator[DirectorySource]:
        return iter(self._sources.values())

    def __len__(self) -> int:
        return len(self._sources)

    def names(self) -> list[str]:
        return sorted(self._sources)

    def unknown(self, name: str) -> str:
        """The sentence for a source name that is not one of these."""
        return f"There is no directory source called {name}; there are: {', '.join(self.names())}."

    async def sync(self, run: SyncRun, only: str | None = None) -> list[str]:
        """Run every source's full sync (or the one named): a line about each."""
        if not self._sources:
            return [NO_SOURCES]
        if only is not None and only not in self._sources:
            return [self.unknown(only)]
        lines = []
        for source in self:
            if only is not None and source.name != only:
                continue
            before, noted = len(run.results), len(run.notes)
            try:
                await source.full_sync(run)
            except Exception as exc:
                # The message of an HTTP library may carry a URL with a token: the log gets the
                # traceback, the line only the kind of failure.
                log.exception("directory sync of %s failed; nothing was changed by it", source.name)
                lines.append(
                    f"{source.name}: the fetch failed ({type(exc).__name__}); nothing changed."
                )
                continue
            lines.extend(r.describe() for r in run.results[before:])
            if len(run.results) == before:
                lines.append(f"{source.name}: nothing to sync.")
            lines.extend(f"{source.name}: {n}" for n in run.notes[noted:])
        return lines
