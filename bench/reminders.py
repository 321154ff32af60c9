"""The reminders' scan (handlers.reminders.scan), in process, on SQLite and (when one answers)
PostgreSQL, over BENCH_REMINDERS_PEOPLE people with a due date each (default 100,000):

1. the worst day: every one of them owed a reminder now (all due in 7 days, in a dozen time
   zones), so the scan reads the whole window and queues 100,000 reminders and outbox rows;
   target <= 10 s;
2. the same scan run again (a restart): nothing to queue;
3. an ordinary day: due dates spread over a year, so the window holds a few percent;
4. the baseline: the same work person by person (a query for each person's enrolments, one for
   what was sent, an insert each) over BENCH_REMINDERS_BASELINE people (default 2,000), its time
   scaled to the full count, and the ratio.

PostgreSQL at BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres).

    python -m bench.reminders
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta

from bench import common as c
from bench.rules import _drop, _fresh, analyze

PEOPLE = int(c.knob("BENCH_REMINDERS_PEOPLE", 100_000) * c.scale())
BASELINE = int(c.knob("BENCH_REMINDERS_BASELINE", 2_000))
NOW = datetime(2027, 6, 9, 12, tzinfo=UTC)  # a Wednesday noon UTC
ZONES = (
    None,
    "Europe/London",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Africa/Nairobi",
    "America/Sao_Paulo",
    "Pacific/Auckland",
)


async def _seed(sessions, people: int, due_of) -> None:
    from sqlalchemy import insert

    from store.models import Enrolment, User
    from tests.support import factories

    async with sessions() as s, s.begin():
        org = await factories.organisation(s)
        item = await factories.item(s, org, "compliance", url="https://lms.example/c")
        org_id, item_id = org.id, item.id
    made = datetime.now(UTC)
    for start in range(0, people, 5000):
        users = [
            {
                "organisation_id": org_id,
                "email": f"p{i}@bench.test",
                "first_name": "P",
                "last_name": str(i),
                "type": "staff",
                "status": "active",
                "created_at": made,
                "first_known_at": made,
                "time_zone": ZONES[i % len(ZONES)],
            }
            for i in range(start, min(start + 5000, people))
        ]
        async with sessions() as s, s.begin():
            ids = (
                await s.execute(insert(User.__table__).returning(User.__table__.c.id), users)
            ).scalars()
            rows = [
                {
                    "user_id": user_id,
                    "item_id": item_id,
                    "period": 0,
                    "status": "enrolled",
                    "source": "rule",
                    "required": True,
                    "enrolled_at": made,
                    "updated_at": made,
                    "due_at": due_of(n + start),
                }
                for n, user_id in enumerate(ids)
            ]
            await s.execute(insert(Enrolment.__table__), rows)
    await analyze(sessions)


def _in_seven_days(_: int) -> datetime:
    return datetime.combine(NOW.date() + timedelta(days=7), datetime.min.time(), tzinfo=UTC)


def _spread(i: int) -> datetime:
    day = date(2027, 1, 1) + timedelta(days=i % 365)
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


async def _timed(sessions) -> tuple[float, int]:
    from handlers.reminders.scan import run_scan

    began = time.perf_counter()
    result = await run_scan(sessions, NOW)
    return time.perf_counter() - began, result.queued


async def _one_by_one(sessions, people: int) -> float:
    """The same work person by person, through the ORM, as a naive job would do it."""
    from sqlalchemy import select

    from handlers.reminders.quiet_hours import next_allowed, zone
    from store.models import Enrolment, OutboxMessage, ReminderSent, User

    async with sessions() as s:
        ids = list((await s.execute(select(User.id).order_by(User.id).limit(people))).scalars())
    began = time.perf_counter()
    async with sessions() as s, s.begin():
        for user_id in ids:
            person = await s.get(User, user_id)
            rows = (
                await s.execute(select(Enrolment).where(Enrolment.user_id == user_id))
            ).scalars()
            for e in list(rows):
                sent = await s.scalar(
                    select(ReminderSent.id).where(
                        ReminderSent.enrolment_id == e.id, ReminderSent.offset_days == 7
                    )
                )
                if sent is not None or e.due_at is None:
                    continue
                at = next_allowed(NOW, zone(person.time_zone))
                s.add(
                    ReminderSent(
                        enrolment_id=e.id,
                        offset_days=7,
                        user_id=user_id,
                        day=NOW.date(),
                        not_before=at,
                        queued_at=NOW,
                    )
                )
                s.add(
                    OutboxMessage(
                        organisation_id=person.organisation_id,
                        kind="reminder",
                        destination=f"email:{person.email}",
                        payload={"enrolment_id": e.id},
                        not_before=at,
                        created_at=NOW,
                        attempts=0,
                    )
                )
            await s.flush()
    return time.perf_counter() - began


async def _case(backend: str, workdir, people: int, due_of):
    from store.db import make_engine, make_sessionmaker

    url, drop = await _fresh(backend, workdir)
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        await _seed(sessions, people, due_of)
        return await _timed(sessions), await _timed(sessions), sessions
    finally:
        await engine.dispose()
        await _drop(drop)


async def run(backend: str, workdir) -> None:
    (first, queued), (again, none), _ = await _case(backend, workdir, PEOPLE, _in_seven_days)
    c.line(f"{backend}: worst day, {queued:,} queued", f"{first:.2f} s", "<= 10 s", first <= 10)
    c.line(f"{backend}: run again, {none} queued", f"{again:.2f} s", "<= 10 s", again <= 10)
    (spread, owed), _, _ = await _case(backend, workdir, PEOPLE, _spread)
    c.line(f"{backend}: ordinary day, {owed:,} queued", f"{spread:.2f} s", "<= 10 s", spread <= 10)
    from store.db import make_engine, make_sessionmaker

    url, drop = await _fresh(backend, workdir)
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        await _seed(sessions, BASELINE, _in_seven_days)
        slow = await _one_by_one(sessions, BASELINE) * PEOPLE / BASELINE
    finally:
        await engine.dispose()
        await _drop(drop)
    c.line(f"{backend}: person by person (scaled from {BASELINE:,})", f"{slow:.1f} s")
    c.line(f"{backend}: ratio", f"{slow / first:.1f}x")


async def main() -> None:
    c.header("reminders' scan")
    backends = ["sqlite"]
    try:
        await c.pg_execute("SELECT 1")
        backends.append("postgresql")
    except Exception:
        print("   PostgreSQL does not answer: SQLite only", flush=True)
    with c.workdir("reminders") as workdir:
        for backend in backends:
            print(f"\n  {backend}:", flush=True)
            await run(backend, workdir)


if __name__ == "__main__":
    asyncio.run(main())
