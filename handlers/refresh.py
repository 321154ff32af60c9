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
from typing import TYPE_CHECKING

from sqlalchemy import Select, case, delete, literal, select
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
    ids = sorted(set(user_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        await _queue(session, select(Identity.user_id).where(Identity.user_id.in_(chunk)))


async def changed_enrolments(session: AsyncSession, enrolment_ids: list[int]) -> None:
    """Queue the Home tabs of the people these enrolments belong to."""
    for start in range(0, len(enrolment_ids), CHUNK):
        chunk = enrolment_ids[start : start + CHUNK]
        people = (
            select(Identity.user_id)
            .join(Enrolment, Enrolment.user_id == Identity.user_id)
            .where(Enrolment.id.in_(chunk))
        )
        await _queue(session, people)


async def _queue(session: AsyncSession, people: Select, due: datetime | None = None) -> None:
    due = due or utcnow()
    rows = (
        people.add_columns(literal(due, HomeRefresh.due_at.type).label("due_at"))
        .where(Identity.home_opened_at.is_not(None), Identity.user_id.is_not(None))
        .distinct()
        .order_by(Identity.user_id)  # rows locked in one order: concurrent writers never deadlock
    )
    await _upsert(session, rows)


async def _upsert(session: AsyncSession, rows: Select) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = HomeRefresh.__table__
    statement = insert(table).from_select(["user_id", "due_at"], rows)
    earlier = case(
        (table.c.due_at < statement.excluded.due_at, table.c.due_at),
        else_=statement.excluded.due_at,
    )
    await session.execute(
        statement.on_conflict_do_update(index_elements=["user_id"], set_={"due_at": earlier})
    )


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
        people = select(Identity.user_id).where(Identity.user_id.in_(user_ids))
        await _queue(session, people, due)


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
