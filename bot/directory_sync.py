"""The directory sources this service has, and their full sync: run nightly by the job runner,
by `enrolbot directory sync`, and by the `group sync` command.

A new source (SCIM, a Slack user group or channel, a Teams team) is one entry in
`directory_sources`, guarded by the settings that turn it on; its `full_sync(run)` fetches and
hands `run.apply` a handlers.directory.Snapshot (see handlers/directory/sources.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from handlers.alert_message import NOTICE
from handlers.directory import NO_SOURCES, DirectorySource, DirectorySources, SyncRun
from store.models import OutboxMessage, utcnow

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

# Syncs started from chat run after the command is answered; kept here until they end.
_RUNNING: set[asyncio.Task] = set()


SOURCE_NAMES = ("slack", "teams")  # every source `directory_sources` can add, by name


def directory_sources(runtime: Runtime, platforms: Any = None) -> DirectorySources:
    """Every directory source the settings turn on. `platforms` is bot.app.Platforms (its Slack
    and Teams endpoints, with their clients), or None where there are none."""
    sources = DirectorySources()
    # One entry per source, guarded by what turns it on.
    if platforms is not None and getattr(platforms, "slack", None) is not None:
        # People, and every linked user group and channel (bot.slack.directory_source).
        sources.add(DirectorySource("slack", platforms.slack.directory.full_sync))
    if platforms is not None and getattr(platforms, "teams", None) is not None:
        # Every linked Teams team's roster (bot.teams.rosters).
        sources.add(DirectorySource("teams", platforms.teams.rosters.full_sync))
    return sources


async def sync_directory(
    runtime: Runtime, sources: DirectorySources, only: str | None = None, *, force: bool = False
) -> list[str]:
    """Run the sources' full sync (or the one named): a line about each."""
    return await sources.sync(await sync_run(runtime, force=force), only)


async def sync_run(runtime: Runtime, *, force: bool = False) -> SyncRun:
    """A run of full syncs for the organisation, held to the settings' removal threshold."""
    async with runtime.transaction() as session:
        organisation_id = (await runtime.organisation(session)).id
    settings = runtime.settings
    return SyncRun(
        runtime.sessions,
        organisation_id,
        max_removal_percent=settings.sync_max_removal_percent,
        force=force,
        bootstrap_admins=settings.admin_emails,
    )


def chat_sync(
    runtime: Runtime, tell: str | None
) -> Callable[[str | None], Awaitable[list[str]]] | None:
    """`group sync` for a command: the sync starts once the command is answered (a large
    source takes longer than a chat waits), and its outcome goes to `tell`, the caller's
    private destination."""
    sources = runtime.directory_sources
    if sources is None:
        return None

    async def start(only: str | None) -> list[str]:
        if not len(sources):
            return [NO_SOURCES]
        if only is not None and only not in sources.names():
            return [sources.unknown(only)]
        task = asyncio.create_task(_sync_and_tell(runtime, sources, only, tell))
        _RUNNING.add(task)
        task.add_done_callback(_RUNNING.discard)
        return [
            f"Started syncing {only or ', '.join(sources.names())}; I'll tell you here how it went."
        ]

    return start


async def _sync_and_tell(
    runtime: Runtime, sources: DirectorySources, only: str | None, tell: str | None
) -> None:
    try:
        lines = await sync_directory(runtime, sources, only)
    except Exception:
        log.exception("a directory sync started from chat failed")
        lines = ["The directory sync failed; enrolbot's log says why. Nothing was changed."]
    if tell is not None:
        await tell_privately(runtime, tell, "Directory sync: " + " ".join(lines))


async def tell_privately(runtime: Runtime, destination: str, text: str) -> None:
    """A notice to one person's private destination (their DM), through the outbox."""
    async with runtime.transaction() as session:
        org = await runtime.organisation(session)
        session.add(
            OutboxMessage(
                organisation_id=org.id,
                kind=NOTICE,
                destination=destination,
                payload={"text": text},
                not_before=utcnow(),
                attempts=0,
            )
        )
