"""The change log: every attribute and membership change, written in the change's transaction.

Rows go in with one set-based insert per call, or, inside `together`, one for all the calls;
automatic enrolment follows the log by id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import wakeup
from store.batches import insert_missing
from store.models import ChangeKind, DirectoryChange

VALUE_MAX = 400
_COLUMNS = ("user_id", "kind", "field", "old", "new", "group_id")
_PENDING = "enrolbot.directory_changes"


@dataclass(frozen=True)
class Origin:
    """Who causes a change: the source (a GroupSource value, or "manual"), and for changes by
    hand or from a file the account or tool that made them."""

    source: str
    actor: str | None = None


def as_text(value: Any) -> str | None:
    """An attribute's value as the log keeps it."""
    if value is None:
        return None
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)[:VALUE_MAX]


async def record(
    session: AsyncSession,
    organisation_id: int,
    origin: Origin,
    rows: list[tuple[int, ChangeKind, str | None, Any, Any, int | None]],
    now: datetime,
) -> None:
    """Log `rows`: (user id, kind, field, old, new, group id) each."""
    if not rows:
        return
    wakeup.changed(session)  # automatic enrolment follows, once this transaction commits
    logged = [(u, k.value, f, as_text(o), as_text(n), g) for u, k, f, o, n, g in rows]
    pending = session.info.get(_PENDING)
    if pending is not None:
        pending.append(((organisation_id, origin, now), logged))
        return
    await _insert(session, (organisation_id, origin, now), logged)


@asynccontextmanager
async def together(session: AsyncSession) -> AsyncIterator[None]:
    """The rows `record`ed inside go into the log at the end, in the order recorded, with one
    insert for all that share an organisation, origin and time (a batch of new people logs
    their arrival, attributes and joins in one statement instead of one each). Nothing inside
    may read the log. Nested, the outermost writes."""
    if _PENDING in session.info:
        yield
        return
    pending: list[tuple[tuple[int, Origin, datetime], list[tuple]]] = []
    session.info[_PENDING] = pending
    try:
        yield
    finally:
        del session.info[_PENDING]
    while pending:  # consecutive calls with the same organisation, origin and time as one
        key, rows = pending.pop(0)
        while pending and pending[0][0] == key:
            rows = rows + pending.pop(0)[1]
        await _insert(session, key, rows)


async def _insert(
    session: AsyncSession, key: tuple[int, Origin, datetime], rows: list[tuple]
) -> None:
    organisation_id, origin, now = key
    await insert_missing(
        session,
        DirectoryChange.__table__,
        _COLUMNS,
        rows,
        {
            "organisation_id": organisation_id,
            "at": now,
            "source": origin.source,
            "actor": origin.actor,
        },
    )
