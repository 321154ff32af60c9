"""The change log: every attribute and membership change, written in the change's transaction.

Rows go in with one set-based insert per call; automatic enrolment follows the log by id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import wakeup
from store.batches import insert_missing
from store.models import ChangeKind, DirectoryChange

VALUE_MAX = 400
_COLUMNS = ("user_id", "kind", "field", "old", "new", "group_id")


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
    await insert_missing(
        session,
        DirectoryChange.__table__,
        _COLUMNS,
        [(u, k.value, f, as_text(o), as_text(n), g) for u, k, f, o, n, g in rows],
        {
            "organisation_id": organisation_id,
            "at": now,
            "source": origin.source,
            "actor": origin.actor,
        },
    )
