"""Whose My learning changed: a durable queue, written in the transaction of the change.

Whoever changes what a person sees in My learning (an enrolment made, completed, withdrawn or
revealed: handlers.events.enrolments, which every writer calls, and the periods job's reveal; a
mute) calls `await changed(session, ids)`. That upserts a `home_refresh` row per person who has
opened the Slack Home tab (identity.home_opened_at), in the same transaction: a rollback queues
nothing, and a change made by any process (a CLI import, another worker) is queued alike. The
service's "home-refresh" job (bot.slack.home) takes due rows every few seconds and republishes.
One set-based statement per call; many changes to one person make one row, so one publish.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import Insert, bindparam, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Enrolment, HomeRefresh, Identity, utcnow

if TYPE_CHECKING:
    from handlers.identity import Account

CHUNK = 500
TAKE = 200  # people republished per run of the job at most
RETRY = timedelta(seconds=5)  # a failed publish is tried again this much later


async def changed(session: AsyncSession, user_ids: Iterable[int]) -> None:
    """Queue these people's Home tabs (those who opened it) for republishing."""
    await _queue(session, sorted(set(user_ids)), by_enrolment=False)


async def changed_enrolments(session: AsyncSession, enrolment_ids: list[int]) -> None:
    """Queue the Home tabs of the people these enrolments belong to."""
    await _queue(session, enrolment_ids, by_enrolment=True)


async def _queue(
    session: AsyncSession, ids: list[int], *, by_enrolment: bool, due: datetime | None = None
) -> None:
    statement = _upsert(session.get_bind().dialect.name, by_enrolment)
    due = due or utcnow()
    for start in range(0, len(ids), CHUNK):
        await session.execute(statement, {"ids": ids[start : start + CHUNK], "due": due})


@cache
def _upsert(dialect: str, by_enrolment: bool) -> Insert:
    """The queueing statement, built once: every Enrol click runs it, and building it (its
    ON CONFLICT's `excluded` above all) cost more than running it."""
    ids = bindparam("ids", expanding=True)
    people = select(Identity.user_id)
    if by_enrolment:
        people = people.join(Enrolment, Enrolment.user_id == Identity.user_id)
    rows = (
        people.add_columns(bindparam("due", type_=HomeRefresh.due_at.type).label("due_at"))
        .where(
            (Enrolment.id if by_enrolment else Identity.user_id).in_(ids),
            Identity.home_opened_at.is_not(None),
            Identity.user_id.is_not(None),
        )
        .distinct()
        .order_by(Identity.user_id)  # rows locked in one order: concurrent writers never deadlock
    )
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = HomeRefresh.__table__
    statement = insert(table).from_select(["user_id", "due_at"], rows)
    earlier = case(
        (table.c.due_at < statement.excluded.due_at, table.c.due_at),
        else_=statement.excluded.due_at,
    )
    return statement.on_conflict_do_update(index_elements=["user_id"], set_={"due_at": earlier})


async def take(session: AsyncSession, now: datetime | None = None, limit: int = TAKE) -> list[int]:
    """The people whose refresh is due, removed from the queue (put them back with `later`)."""
    now = now or utcnow()
    due = list(
        await session.scalars(
            select(HomeRefresh.user_id)
            .where(HomeRefresh.due_at <= now)
            .order_by(HomeRefresh.due_at)
            .limit(limit)
        )
    )
    if due:
        await session.execute(
            delete(HomeRefresh).where(HomeRefresh.user_id.in_(due), HomeRefresh.due_at <= now)
        )
    return due


async def later(session: AsyncSession, user_ids: list[int], now: datetime | None = None) -> None:
    """Put back people whose publish failed, due again after RETRY (or sooner if queued)."""
    if user_ids:
        due = (now or utcnow()) + RETRY
        await _queue(session, sorted(set(user_ids)), by_enrolment=False, due=due)


async def shown(session: AsyncSession, account: Account, now: datetime | None = None) -> None:
    """The account's person is being shown a fresh view: what was queued until now is done."""
    person = select(Identity.user_id).where(
        Identity.provider == account.provider,
        Identity.tenant_key == account.tenant_key,
        Identity.subject == account.subject,
    )
    await session.execute(
        delete(HomeRefresh).where(
            HomeRefresh.user_id.in_(person), HomeRefresh.due_at <= (now or utcnow())
        )
    )
