"""Start import (seed 002's go-ahead) and the imports that ran: a previewed import written
through `enrol_many` per item over a range of staged lines at a time, each in its own short
transaction with each person's learner message (handlers.rules.messages.tell_by_hand); on
SQLite the ranges are sized by how long the last one held the write lock, and the import rests
between them so clicks get it (store.batches.Pace); the record's counts kept for
`enrol imports`. The staging and the preview are handlers.enrol_import's."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.enrol import Placement, enrol_many
from handlers.enrol_import import (
    PENDING_SECONDS,
    START_BATCH,
    ImportGone,
    Started,
    staged_marks,
)
from handlers.rules.messages import tell_by_hand
from handlers.rules.telling import ENROLLED
from store.batches import Pace
from store.models import (
    EnrolImport,
    EnrolImportRow,
    EnrolmentSource,
    ImportStatus,
    utcnow,
)


async def start(
    sessions: async_sessionmaker[AsyncSession],
    organisation_id: int,
    import_id: int,
    *,
    by_name: str,
    manager_id: int | None = None,
    rest: float = 0.0,
    progress: Callable[[int], None] | None = None,
) -> Started:
    """Run a previewed import: enrol_many per item over START_BATCH lines at a time (on SQLite,
    `rest` > 0, as many as hold the lock about Pace.HOLD), each person enrolled told through
    the outbox. ImportGone when it expired, ran, or is running."""
    async with sessions() as session, session.begin():
        record = await _claim(session, organisation_id, import_id)
        lines = await session.scalar(
            select(func.max(EnrolImportRow.line)).where(EnrolImportRow.import_id == import_id)
        )
        item_ids = (
            await session.scalars(
                select(EnrolImportRow.item_id)
                .where(EnrolImportRow.import_id == import_id, EnrolImportRow.item_id.is_not(None))
                .distinct()
            )
        ).all()
    enrolled: list[tuple[int, int]] = []
    for item_id in sorted(item_ids):
        pace = Pace(START_BATCH, rest)
        first = 1
        while first <= (lines or 0):
            last = first + pace.rows - 1
            async with sessions() as session, session.begin():
                await session.connection()  # SQLite: the write lock is taken here (bulk_writer)
                locked = time.monotonic()
                made = await _enrol_lines(
                    session, record, (item_id, first, last), manager_id=manager_id, by=by_name
                )
            held = time.monotonic() - locked
            enrolled += made
            if progress is not None:
                progress(len(enrolled))
            first = last + 1
            await pace.held(held)
    return await _finish(sessions, import_id, enrolled)


async def _enrol_lines(
    session: AsyncSession,
    record: EnrolImport,
    only: tuple[int, int, int],
    *,
    manager_id: int | None,
    by: str,
) -> list[tuple[int, int]]:
    """One batch: the item's staged lines first..last (`only`) enrolled and each person told."""
    item_id = only[0]
    m = staged_marks(record.organisation_id, record.id, manager_id, only)
    people = select(m.c.user_id.label("id")).where(m.c.reason.is_(None)).distinct()
    now = utcnow()
    made = await enrol_many(
        session,
        organisation_id=record.organisation_id,
        item_id=item_id,
        people=people,
        source=EnrolmentSource.IMPORT,
        by=record.by,
        placement=Placement(enrolled_by_user_id=record.by_user_id),
        now=now,
    )
    await tell_by_hand(
        session,
        organisation_id=record.organisation_id,
        enrolment_ids=[i for i, _ in made],
        action=ENROLLED,
        at=now,
        by=by,
    )
    return made


async def _claim(session: AsyncSession, organisation_id: int, import_id: int) -> EnrolImport:
    """The pending import, now running (a second Start finds it running and is refused)."""
    fresh = utcnow() - timedelta(seconds=PENDING_SECONDS)
    claimed = await session.execute(
        update(EnrolImport)
        .where(
            EnrolImport.id == import_id,
            EnrolImport.organisation_id == organisation_id,
            EnrolImport.status == ImportStatus.PENDING,
            EnrolImport.created_at >= fresh,
        )
        .values(status=ImportStatus.RUNNING, started_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise ImportGone
    record = await session.get(EnrolImport, import_id)
    assert record is not None
    return record


async def _finish(
    sessions: async_sessionmaker[AsyncSession], import_id: int, enrolled: list[tuple[int, int]]
) -> Started:
    async with sessions() as session, session.begin():
        record = await session.get(EnrolImport, import_id)
        assert record is not None
        record.status = ImportStatus.DONE
        record.enrolled = len(enrolled)
        record.finished_at = utcnow()
        await session.execute(delete(EnrolImportRow).where(EnrolImportRow.import_id == import_id))
        return Started(
            import_id,
            len(enrolled),
            len({u for _, u in enrolled}),
            record.already,
            record.refused,
            record.problems,
        )


async def past(session: AsyncSession, organisation_id: int, limit: int = 20) -> list[EnrolImport]:
    """The latest imports that ran, newest first."""
    return list(
        (
            await session.scalars(
                select(EnrolImport)
                .where(
                    EnrolImport.organisation_id == organisation_id,
                    EnrolImport.status == ImportStatus.DONE,
                )
                .order_by(EnrolImport.finished_at.desc(), EnrolImport.id.desc())
                .limit(limit)
            )
        ).all()
    )
