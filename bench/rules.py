"""Automatic enrolment, in process, on SQLite and (when one answers) PostgreSQL:

1. a rule over BENCH_RULES_PEOPLE matching people (default 100,000) enrols them with one
   insert-select (`enrol_matching` -> `enrol_many`), against the same work person by person
   through the ORM (`handlers.enrol.enrol` in a loop) over BENCH_RULES_BASELINE people (default
   10,000; its time is scaled to the full count, and said so), and the ratio;
2. membership change -> enrolment row: BENCH_RULES_RATE changes a second (default 50) for
   BENCH_RULES_SECONDS (default 20), each its own transaction (`directory.add_members`), the
   follower (`Follower.follow`) running beside them in the same process as the service runs it;
   latency from each change's commit to the commit of its enrolment row;
3. the nightly reconcile of BENCH_RULES_PEOPLE people against 50 rules (departments, groups,
   managers with all their reports, hire dates, languages): the first run (enrolling
   everyone) and the second (the nightly case: nothing to change).

PostgreSQL at BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres); its
databases are made and dropped here.

    python -m bench.rules
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import UTC, date, datetime

from bench import common as c

PEOPLE = int(c.knob("BENCH_RULES_PEOPLE", 100_000) * c.scale())
BASELINE = int(c.knob("BENCH_RULES_BASELINE", 10_000))
RATE = c.knob("BENCH_RULES_RATE", 50)
SECONDS = c.knob("BENCH_RULES_SECONDS", 20) * c.scale()
RULES = 50
DEPARTMENTS = 25


async def _fresh(backend: str, workdir) -> tuple[str, object]:
    """A URL of an empty migrated database, and how to drop it."""
    from store.db import make_engine
    from store.models import Base

    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / (uuid.uuid4().hex + '.db')}"
        drop = None
    else:
        from sqlalchemy.engine import make_url

        name = f"enrolbot_bench_rules_{uuid.uuid4().hex[:8]}"
        await c.pg_execute(f'CREATE DATABASE "{name}"')
        admin = make_url(c.pg_admin_url())
        url = admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(
            hide_password=False
        )
        drop = name
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await engine.dispose()
    return url, drop


async def _drop(drop) -> None:
    if drop:
        await c.pg_execute(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)')


async def _seed(sessions, people: int, *, varied: bool = False) -> tuple[int, int]:
    """An organisation, one item, `people` active staff in department Sales (or, varied, in
    25 departments, a manager tree ten wide, hire dates and languages); (org id, item id)."""
    from sqlalchemy import insert

    from store.models import User
    from tests.support import factories

    async with sessions() as s, s.begin():
        org = await factories.organisation(s)
        item = await factories.item(s, org, "compliance")
        org_id, item_id = org.id, item.id
        first = (
            await s.execute(
                insert(User.__table__)
                .values(
                    organisation_id=org_id,
                    email="p0@bench.test",
                    first_name="P",
                    last_name="0",
                    type="staff",
                    status="active",
                    created_at=datetime.now(UTC),
                    first_known_at=datetime.now(UTC),
                    department="Sales",
                )
                .returning(User.__table__.c.id)
            )
        ).scalar_one()
    now = datetime.now(UTC)
    for start in range(1, people, 5000):
        rows = []
        for i in range(start, min(start + 5000, people)):
            row = {
                "organisation_id": org_id,
                "email": f"p{i}@bench.test",
                "first_name": "P",
                "last_name": str(i),
                "type": "staff",
                "status": "active",
                "created_at": now,
                "first_known_at": now,
                "department": f"Dept {i % DEPARTMENTS}" if varied else "Sales",
                "language": ("en", "fr", "de", "es")[i % 4],
                "hire_date": date(2015 + i % 12, 1 + i % 12, 1),
                "manager_id": first + (i - 1) // 10 if varied else None,
            }
            rows.append(row)
        async with sessions() as s, s.begin():
            await s.execute(insert(User.__table__), rows)
    await analyze(sessions)
    return org_id, item_id


async def analyze(sessions) -> None:
    """Table statistics, as autovacuum keeps them on a database in use (right after a bulk
    load PostgreSQL has none, and plans as if every table had one row)."""
    from sqlalchemy import text

    async with sessions() as s, s.begin():
        await s.execute(text("ANALYZE"))


async def _rule(sessions, org_id: int, item_id: int, criteria, **terms) -> int:
    from handlers.rules import saved
    from store.models import CatalogItem

    async with sessions() as s, s.begin():
        item = await s.get(CatalogItem, item_id)
        rule = await saved.create_rule(
            s, item, criteria, saved.Terms(**terms), created_by="bench", created_by_user_id=None
        )
        rule.pending_since = None  # the bench applies it itself
        return rule.id


async def set_based(backend: str, workdir) -> None:
    from sqlalchemy import func, select

    from handlers.enrol import enrol
    from handlers.rules import saved
    from handlers.rules.apply import enrol_matching
    from handlers.rules.criteria import Criteria
    from store.db import make_engine, make_sessionmaker
    from store.models import CatalogItem, Enrolment, EnrolmentSource, Organisation, User

    url, drop = await _fresh(backend, workdir)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        org_id, item_id = await _seed(sessions, PEOPLE)
        sales = Criteria(org_id, where=(("department", "Sales"),))
        rule_id = await _rule(sessions, org_id, item_id, sales)
        began = time.monotonic()
        async with sessions() as s, s.begin():
            (loaded,) = await saved.load(s, rule_ids=[rule_id])
            made = len(await enrol_matching(s, loaded))
        fast = time.monotonic() - began
        async with sessions() as s:
            rows = await s.scalar(select(func.count()).select_from(Enrolment))
        assert made == rows == PEOPLE, (made, rows)
        # The same work, one person at a time through the ORM, on another item.
        async with sessions() as s, s.begin():
            org = await s.get(Organisation, org_id)
            other = await c_item(s, org)
        people = BASELINE
        began = time.monotonic()
        async with sessions() as s, s.begin():
            org = await s.get(Organisation, org_id)
            item = await s.get(CatalogItem, other)
            users = (await s.execute(select(User).limit(people))).scalars().all()
            for user in users:
                await enrol(
                    s,
                    organisation=org,
                    user=user,
                    item=item,
                    source=EnrolmentSource.RULE,
                    by="bench",
                )
        slow = (time.monotonic() - began) * PEOPLE / people
        label = f"{backend}: a rule over {PEOPLE:,} people"
        c.line(f"{label}, set-based", f"{fast:.2f} s", "<= 5 s", fast <= 5)
        scaled = "" if people == PEOPLE else f" ({people:,} timed, scaled)"
        c.line(f"{backend}: person by person, ORM{scaled}", f"{slow:.1f} s")
        c.line(f"{backend}: ratio", f"{slow / fast:.0f}x", ">= 20x", slow / fast >= 20)
    finally:
        await engine.dispose()
        await _drop(drop)


async def c_item(session, org) -> int:
    from tests.support import factories

    return (await factories.item(session, org, "baseline")).id


async def _mentors(sessions, org_id: int) -> int:
    """A manual group, Mentors: its id."""
    from handlers import directory
    from store.models import GroupKind, GroupSource

    async with sessions() as s, s.begin():
        ids = await directory.named_groups(
            s, org_id, GroupKind.GROUP, ["Mentors"], create=GroupSource.MANUAL
        )
    return ids["mentors"]


def _clock_steps(follower, changes: int) -> tuple[dict[int, float], asyncio.Event]:
    """Have the follower note when each person was enrolled (monotonic, by user id); the event
    is set once `changes` people have been."""
    done: dict[int, float] = {}
    all_done = asyncio.Event()
    step = follower.step

    async def timed_step():
        did = await step()
        at = time.monotonic()
        if did is not None:
            for rows in did.enrolled.values():
                for _, user_id in rows:
                    done.setdefault(user_id, at)
        if len(done) >= changes:
            all_done.set()
        return did

    follower.step = timed_step  # type: ignore[method-assign]
    return done, all_done


async def _add_paced(sessions, group_id: int, changes: int) -> dict[int, float]:
    """People 1..`changes` added to the group one a transaction at RATE a second: when each
    was committed (monotonic, by user id)."""
    from handlers import directory
    from handlers.directory import Origin
    from store.models import Group

    committed: dict[int, float] = {}
    began = time.monotonic()
    for n in range(changes):
        due = began + n / RATE
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        user_id = n + 1
        async with sessions() as s, s.begin():
            group = await s.get(Group, group_id)
            await directory.add_members(s, group, [user_id], Origin("manual"))
        committed[user_id] = time.monotonic()
    return committed


async def follow_latency(backend: str, workdir) -> None:
    from handlers.rules.criteria import Criteria
    from handlers.rules.follow import Follower
    from store.db import make_engine, make_sessionmaker

    url, drop = await _fresh(backend, workdir)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    changes = int(RATE * SECONDS)
    try:
        org_id, item_id = await _seed(sessions, max(changes, 1000))
        group_id = await _mentors(sessions, org_id)
        await _rule(sessions, org_id, item_id, Criteria(org_id, group_ids=(group_id,)))
        follower = Follower(sessions)
        await follower.step()  # the cursor, as a running service has it
        done, all_done = _clock_steps(follower, changes)
        task = asyncio.create_task(follower.follow())
        committed = await _add_paced(sessions, group_id, changes)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_done.wait(), 10)
        task.cancel()
        latencies = [done[u] - t for u, t in committed.items() if u in done]
        missing = changes - len(latencies)
        p50, p99 = c.percentile(latencies, 50), c.percentile(latencies, 99)
        label = f"{backend}: change -> enrolment, {RATE:g}/s x {changes:,}"
        c.line(f"{label}, p50", c.ms(p50))
        c.line(f"{label}, p99", c.ms(p99), "<= 1 s", p99 <= 1.0 and not missing)
        if missing:
            print(f"      {missing} changes were never enrolled")
    finally:
        await engine.dispose()
        await _drop(drop)


async def reconcile_speed(backend: str, workdir) -> None:
    from handlers import directory
    from handlers.directory import Origin
    from handlers.rules.criteria import Criteria
    from handlers.rules.reconcile import reconcile
    from store.db import make_engine, make_sessionmaker
    from store.models import Group, GroupKind, GroupSource

    url, drop = await _fresh(backend, workdir)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        org_id, _ = await _seed(sessions, PEOPLE, varied=True)
        items = []
        async with sessions() as s, s.begin():
            from store.models import Organisation

            org = await s.get(Organisation, org_id)
            for n in range(RULES):
                items.append(await c_item_named(s, org, f"course-{n}"))
            names = [f"Group {g}" for g in range(10)]
            ids = await directory.named_groups(
                s, org_id, GroupKind.GROUP, names, create=GroupSource.MANUAL
            )
            for g, name in enumerate(names):
                group = await s.get(Group, ids[name.lower()])
                members = list(range(1 + g, PEOPLE, 20))  # 5,000 each
                await directory.add_members(s, group, members, Origin("manual"))
        await analyze(sessions)
        for n, item_id in enumerate(items):
            kind = n % 5
            if kind == 0:
                criteria = Criteria(org_id, where=(("department", f"Dept {n % DEPARTMENTS}"),))
            elif kind == 1:
                criteria = Criteria(org_id, group_ids=(ids[f"group {n % 10}"],))
            elif kind == 2:
                criteria = Criteria(org_id, manager_id=2 + n, all_reports=True)
            elif kind == 3:
                criteria = Criteria(org_id, hired_after=date(2020 + n % 5, 1, 1))
            else:
                criteria = Criteria(
                    org_id, where=(("language", "fr"),), group_ids=(ids[f"group {n % 10}"],)
                )
            await _rule(sessions, org_id, item_id, criteria, withdraw_on_leave=n % 2 == 0)
        for run in ("first (enrols everyone)", "second (nightly: nothing to change)"):
            began = time.monotonic()
            runs = await reconcile(sessions)
            seconds = time.monotonic() - began
            enrolled = sum(r.enrolled for r in runs)
            c.line(
                f"{backend}: reconcile {PEOPLE:,} x {RULES} rules, {run}",
                f"{seconds:.1f} s",
                "<= 60 s",
                seconds <= 60,
            )
            print(f"      ({enrolled:,} enrolled)", flush=True)
            await analyze(sessions)  # autovacuum's, after the first run's inserts
    finally:
        await engine.dispose()
        await _drop(drop)


async def c_item_named(session, org, slug: str) -> int:
    from tests.support import factories

    return (await factories.item(session, org, slug)).id


async def main() -> None:
    c.header("automatic enrolment (rules)")
    backends = ["sqlite"]
    try:
        await c.pg_execute("SELECT 1")
        backends.append("postgresql")
    except Exception:
        print("   PostgreSQL does not answer: SQLite only", flush=True)
    with c.workdir("rules") as workdir:
        for backend in backends:
            print(f"\n  {backend}:", flush=True)
            await set_based(backend, workdir)
            await follow_latency(backend, workdir)
            await reconcile_speed(backend, workdir)


if __name__ == "__main__":
    asyncio.run(main())
