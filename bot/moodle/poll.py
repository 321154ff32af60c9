"""The job that reads completions from Moodle (`core_completion_get_course_completion_status`)
for open enrolments in mapped items, a bounded number per run (handlers.moodle.checks), and
records each completed one through handlers.completions, the one place completions are
recorded (which opens a recurring rule's next period). A site that does not answer, or a
token it refuses, ends the run: the next run starts again from the longest unread."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.moodle.client import MoodleError, MoodleUnreachable
from bot.moodle.connector import Connector
from handlers.completions import CompletionOutcome, Reported, complete_many
from handlers.moodle import checks
from handlers.moodle.problems import NOT_ENROLLED, PER_COURSE, SITE_WIDE, Context, problem
from store.models import CatalogItem, EnrolmentSource, Organisation, User

log = logging.getLogger(__name__)
M = TypeVar("M", User, CatalogItem)

FUNCTION = "core_completion_get_course_completion_status"
BY = "moodle"  # who reported the completions, in the audit


@dataclass
class PollRun:
    read: int = 0
    completed: int = 0
    stopped: str | None = None  # why the run ended early
    done: list[tuple[checks.Due, datetime]] = field(default_factory=list)


class CompletionPoll:
    def __init__(self, connector: Connector, batch: int = 200) -> None:
        self.connector = connector
        self.batch = batch

    async def run(self) -> PollRun:
        now = self.connector.clock()
        async with self.connector.sessions() as session:
            due = await checks.due(session, self.batch, now)
        result, read = PollRun(), []
        for row in due:
            try:
                finished = await self._read(row)
            except MoodleUnreachable as exc:
                result.stopped = str(exc)
                break
            except MoodleError as exc:
                if await self._refused(row, exc):
                    result.stopped = exc.errorcode
                    break
                finished = None
            read.append(row.enrolment_id)
            if finished is not None:
                result.done.append((row, finished))
        result.read = len(read)
        result.completed = await self._record(result.done, read)
        if result.stopped:
            log.warning("moodle: completion poll stopped after %d: %s", result.read, result.stopped)
        return result

    async def _refused(self, row: checks.Due, exc: MoodleError) -> bool:
        """Tell the admins of a problem they can fix; whether it ends the run (the token's)."""
        if exc.errorcode == NOT_ENROLLED:  # its push has not gone through yet: read later
            return False
        if exc.errorcode in SITE_WIDE or exc.errorcode in PER_COURSE:
            at = Context(FUNCTION, row.course_id, row.email)
            await self.connector.report(
                row.organisation_id, problem(exc.errorcode, exc.message, at)
            )
        else:
            log.warning("moodle: completion of course %d not read: %s", row.course_id, exc)
        return exc.errorcode in SITE_WIDE

    async def _read(self, row: checks.Due) -> datetime | None:
        """When the person completed the course; None when they have not (or have no account)."""
        moodle_id = await self.connector.account(row.user_id, row.email)
        if moodle_id is None:
            return None
        done, when = await self.connector.client.completion(
            user_id=moodle_id, course_id=row.course_id
        )
        if not done:
            return None
        return datetime.fromtimestamp(when, UTC) if when else self.connector.clock()

    async def _record(self, done: list[tuple[checks.Due, datetime]], read: list[int]) -> int:
        """Each completion through complete_many, and the reads, in one transaction."""
        now = self.connector.clock()
        completed = 0
        async with self.connector.sessions() as session, session.begin():
            for organisation_id in sorted({row.organisation_id for row, _ in done}):
                mine = [(row, when) for row, when in done if row.organisation_id == organisation_id]
                organisation = await session.get(Organisation, organisation_id)
                assert organisation is not None
                users = await _by_id(session, User, [r.user_id for r, _ in mine])
                items = await _by_id(session, CatalogItem, [r.item_id for r, _ in mine])
                reported = [Reported(users[r.user_id], items[r.item_id], when) for r, when in mine]
                results = await complete_many(
                    session, organisation, reported, source=EnrolmentSource.API, by=BY, now=now
                )
                completed += sum(c.outcome is CompletionOutcome.COMPLETED for c in results)
            await checks.mark(session, read, now)
        return completed


async def _by_id(session: AsyncSession, model: type[M], ids: list[int]) -> dict[int, M]:
    rows = await session.execute(select(model).where(model.id.in_(sorted(set(ids)))))
    return {row.id: row for row in rows.scalars()}
