"""The directory core in process (handlers.directory), the work under every source: people
upserted in bulk, groups filled, a group's whole membership replaced, and a full snapshot
applied. No HTTP: the SCIM, Slack and Teams benchmarks add their protocol on top of this.

On a SQLite file; BENCH_DIRECTORY_URL runs it on another database (a PostgreSQL URL, say: its
tables are made and dropped here). BENCH_PEOPLE (default 10000) people, BENCH_GROUPS (500)
groups of BENCH_GROUP_SIZE (100) members each.

    python -m bench.directory
"""

from __future__ import annotations

import asyncio
import os
import time

from bench import common as c

PEOPLE = int(c.knob("BENCH_PEOPLE", 10000) * c.scale())
GROUPS = int(c.knob("BENCH_GROUPS", 500) * c.scale())
GROUP_SIZE = int(c.knob("BENCH_GROUP_SIZE", 100))


def _members(group: int) -> range:
    """Which people (by number) are in a group: a run of GROUP_SIZE, groups overlapping."""
    start = (group * GROUP_SIZE) % max(PEOPLE - GROUP_SIZE, 1)
    return range(start, start + GROUP_SIZE)


Figure = tuple[str, float, float | None]  # what, seconds it took, target in seconds


def _people() -> list:
    from handlers.directory import PersonRecord

    return [
        PersonRecord(
            f"e{n}",
            f"p{n}@acme.test",
            {"first_name": f"P{n}", "department": f"Dept {n % 50}", "function": "Engineer"},
        )
        for n in range(PEOPLE)
    ]


async def _bulk(sessions, org_id: int, people: list, figures: list[Figure]) -> list[int | None]:
    """Upsert every person in one call, then fill GROUPS groups; the people's user ids."""
    from handlers import directory
    from handlers.directory import Origin, SourceKey
    from store.models import GroupSource

    key, origin = SourceKey("scim", "1"), Origin("scim")
    began = time.monotonic()
    async with sessions() as session, session.begin():
        made = await directory.upsert_people(session, org_id, people, origin, key=key)
    figures.append((f"{PEOPLE:,} people upserted in one call", time.monotonic() - began, None))
    ids = made.user_ids
    began = time.monotonic()
    async with sessions() as session, session.begin():
        for g in range(GROUPS):
            group = await directory.source_group(
                session, org_id, GroupSource.SCIM, f"g{g}", f"G{g}"
            )
            members = [ids[n] for n in _members(g)]
            await directory.add_members(session, group, members, origin)
    figures.append((f"{GROUPS} groups of {GROUP_SIZE} filled", time.monotonic() - began, None))
    return ids


async def _one_group(sessions, org_id: int, ids: list[int | None], figures: list[Figure]) -> None:
    """1,000 members added to one group, then half of them swapped for others."""
    from handlers import directory
    from handlers.directory import Origin
    from store.models import GroupSource

    origin = Origin("scim")
    began = time.monotonic()
    async with sessions() as session, session.begin():
        group = await directory.source_group(session, org_id, GroupSource.SCIM, "big", "Big")
        await directory.add_members(session, group, ids[:1000], origin)
    figures.append(("1,000 members added to a group in one call", time.monotonic() - began, 1.0))
    began = time.monotonic()
    async with sessions() as session, session.begin():
        await directory.replace_members(session, group, ids[500:1500], origin)
    figures.append(
        (
            "a group's 1,000 members replaced by 1,000 (500 each way)",
            time.monotonic() - began,
            1.0,
        )
    )


async def _snapshot(sessions, org_id: int, people: list, figures: list[Figure]) -> None:
    """The whole directory applied again as a snapshot: nothing in it has changed."""
    from handlers import directory
    from handlers.directory import GroupRecord, Snapshot, SourceKey
    from store.models import GroupSource

    key = SourceKey("scim", "1")
    groups = [GroupRecord(f"g{g}", f"G{g}", [f"e{n}" for n in _members(g)]) for g in range(GROUPS)]
    began = time.monotonic()
    async with sessions() as session, session.begin():
        result = await directory.apply_snapshot(
            session, org_id, Snapshot(GroupSource.SCIM, key, True, people, groups)
        )
    assert result.outcome is directory.Outcome.APPLIED, result.describe()
    figures.append(
        ("a full snapshot applied again (nothing to change)", time.monotonic() - began, 10.0)
    )


async def measure(url: str) -> list[Figure]:
    from bot.settings import Settings
    from handlers.organisations import default_organisation
    from store.db import make_engine, make_sessionmaker
    from store.models import Base

    url = Settings(_env_file=None, DATABASE_URL=url).database_url
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    sessions = make_sessionmaker(engine)
    people = _people()
    figures: list[Figure] = []
    try:
        async with sessions() as session, session.begin():
            org_id = (await default_organisation(session)).id
        ids = await _bulk(sessions, org_id, people, figures)
        await _one_group(sessions, org_id, ids, figures)
        await _snapshot(sessions, org_id, people, figures)
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
        await engine.dispose()
    return figures


def main() -> None:
    c.header("Directory core: bulk people, groups and memberships, in process")
    with c.workdir("bench-directory-") as wd:
        url = os.environ.get("BENCH_DIRECTORY_URL") or f"sqlite:///{wd / 'enrolbot.db'}"
        print(f"   {PEOPLE} people, {GROUPS} groups of {GROUP_SIZE}, on {url.split(':')[0]}")
        figures = asyncio.run(measure(url))
    print("\n  figures:")
    for what, seconds, target in figures:
        mark = "" if target is None else (" [ok]" if seconds <= target else " [MISSED]")
        goal = "" if target is None else f" (target ≤ {target:g} s)"
        c.line(what, f"{seconds:.2f} s{goal}{mark}")


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"  (ran in {time.monotonic() - started:.0f}s)")
