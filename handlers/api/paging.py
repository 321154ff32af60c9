"""Keyset pagination shared by every list: rows after the cursor's (sort key, id), one more
than asked for to know whether another page follows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from handlers.api.cursors import Cursors
from handlers.api.problems import ApiProblem


@dataclass(frozen=True)
class Listing:
    """What every list call needs: the session, the organisation and the cursor codec."""

    session: AsyncSession
    organisation_id: int
    cursors: Cursors


async def page(
    listing: Listing,
    name: str,
    statement: Select,
    *,
    id_column: InstrumentedAttribute,
    limit: int,
    cursor: str | None,
    filters: dict[str, Any],
    time_column: InstrumentedAttribute | None = None,
) -> tuple[list[Any], str | None]:
    """The page of `statement`'s rows (ordered by `time_column` then `id_column`, or by id
    alone) after `cursor`, and the cursor of the next page (None on the last)."""
    order = [id_column] if time_column is None else [time_column, id_column]
    if cursor is not None:
        after = listing.cursors.read(cursor, name, filters)
        statement = statement.where(_after(order, after))
    rows = list((await listing.session.execute(statement.order_by(*order).limit(limit + 1))).all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1][0]  # every list's first column is its entity
    key = [getattr(last, id_column.key)]
    if time_column is not None:
        key.insert(0, getattr(last, time_column.key).isoformat())
    return rows, listing.cursors.make(name, filters, key)


def _after(order: list[InstrumentedAttribute], after: list[Any]) -> Any:
    try:
        if len(order) == 1 and len(after) == 1 and isinstance(after[0], int):
            return order[0] > after[0]
        if len(order) == 2 and len(after) == 2 and isinstance(after[1], int):
            at = datetime.fromisoformat(after[0])
            return or_(order[0] > at, and_(order[0] == at, order[1] > after[1]))
    except (TypeError, ValueError):
        pass
    raise ApiProblem("bad-cursor", "This cursor cannot be read: start again without a cursor.")
