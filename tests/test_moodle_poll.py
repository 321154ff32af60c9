"""Completions read back from Moodle by the poll job (bot/moodle/poll.py) against the stand-in
site, recorded through handlers.completions (a recurring rule's next period opened), and
`enrolbot moodle status` as an admin runs it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from bot.moodle.poll import CompletionPoll
from handlers.rules import saved
from handlers.rules.apply import enrol_matching
from handlers.rules.criteria import Criteria
from store.db import make_engine, make_sessionmaker
from store.models import (
    AuditEvent,
    Enrolment,
    EnrolmentStatus,
    MoodleCheck,
    Recur,
)
from tests.support.moodle_world import TOKEN, World

DONE = int(datetime(2026, 11, 30, 15, 0, tzinfo=UTC).timestamp())


async def rows(sessions, world: World, email: str, slug: str) -> list[tuple]:
    async with sessions() as s:
        found = await s.execute(
            select(Enrolment.period, Enrolment.status, Enrolment.completed_at)
            .where(
                Enrolment.user_id == world.people[email].id,
                Enrolment.item_id == world.items[slug].id,
            )
            .order_by(Enrolment.period)
        )
        return [tuple(r) for r in found]


async def test_completions_are_read_oldest_first_and_recorded_once(sessions, http, moodle):
    site, url = moodle
    world = await World(sessions, http, url).build()
    for email, slug in (("ann@example.com", "m101"), ("ann@example.com", "m102")):
        await world.enrol(email, slug)
    await world.enrol("bob@example.com", "m101")
    await world.enrol("ann@example.com", "plain")  # not mapped: never read
    await world.deliver()
    site.completed[(101, 7)] = DONE
    poll = CompletionPoll(world.connector, batch=2)

    first = await poll.run()
    assert (first.read, first.completed) == (2, 1)  # ann's two, the oldest enrolments
    [(_, status, completed_at)] = await rows(sessions, world, "ann@example.com", "m101")
    assert (status, completed_at) == (EnrolmentStatus.COMPLETED, datetime.fromtimestamp(DONE, UTC))
    assert (await rows(sessions, world, "ann@example.com", "m102"))[0][
        1
    ] is EnrolmentStatus.ENROLLED

    site.completed[(101, 8)] = DONE
    world.clock.advance(300)
    second = await poll.run()  # bob, never read, then ann's m102, read longest ago
    assert (second.read, second.completed) == (2, 1)
    read = [p for name, p in site.calls if name == "core_completion_get_course_completion_status"]
    assert [(p["courseid"], p["userid"]) for p in read] == [
        ("101", "7"),
        ("102", "7"),
        ("101", "8"),
        ("102", "7"),
    ]
    async with sessions() as s:
        audits = (
            (
                await s.execute(
                    select(AuditEvent.actor).where(AuditEvent.action == "complete.completed")
                )
            )
            .scalars()
            .all()
        )
        checked = len((await s.execute(select(MoodleCheck.enrolment_id))).all())
    assert audits == ["moodle", "moodle"] and checked == 3
    third = await poll.run()
    assert (third.read, third.completed) == (1, 0)  # only ann's open m102 is left to read


async def test_a_completion_opens_a_recurring_rules_next_period_and_pushes_it(
    sessions, http, moodle
):
    site, url = moodle
    world = await World(sessions, http, url).build()
    async with sessions() as s, s.begin():
        item = world.items["m101"]
        terms = saved.Terms(recur=Recur.MONTHS, recur_every=1)
        rule = await saved.create_rule(
            s,
            item,
            Criteria(world.org.id, everyone=True),
            terms,
            created_by="t",
            created_by_user_id=None,
        )
        (loaded,) = await saved.load(s, rule_ids=[rule.id])
        await enrol_matching(s, loaded)
    await world.deliver()
    assert (101, 7) in site.enrolments
    site.completed[(101, 7)] = DONE
    done = await CompletionPoll(world.connector, batch=50).run()
    assert done.completed == 1
    periods = await rows(sessions, world, "ann@example.com", "m101")
    assert [status for _, status, _ in periods] == [
        EnrolmentStatus.COMPLETED,
        EnrolmentStatus.ENROLLED,
    ]
    assert periods[1][0] > periods[0][0]
    pushed = [p.payload["email"] for p in await world.pushes()]
    assert pushed.count("ann@example.com") == 2  # the new period goes to Moodle too


async def test_a_poll_stops_when_moodle_is_down_or_refuses_the_token(sessions, http, moodle):
    site, url = moodle
    world = await World(sessions, http, url).build()
    await world.enrol("ann@example.com", "m101")
    await world.deliver()
    site.down = True
    down = await CompletionPoll(world.connector).run()
    assert down.read == 0 and "HTTP 503" in down.stopped
    site.down, site.token = False, "a-new-token"
    refused = await CompletionPoll(world.connector).run()
    assert (refused.read, refused.stopped) == (0, "invalidtoken")
    await CompletionPoll(world.connector).run()
    [told] = await world.notices()
    assert "Moodle refused MOODLE_TOKEN" in told


async def test_a_course_without_completion_tracking_is_told_once_and_the_rest_is_read(
    sessions, http, moodle
):
    site, url = moodle
    world = await World(sessions, http, url).build()
    site.courses[101].manual = False  # ann's push to 101 waits: Moodle has not enrolled her
    await world.enrol("ann@example.com", "m101")
    for email in ("ann@example.com", "bob@example.com"):
        await world.enrol(email, "m102")
    await world.deliver()
    site.courses[102].completion = False
    first = await CompletionPoll(world.connector).run()
    assert (first.read, first.stopped) == (3, None)
    site.courses[102].completion = True
    site.completed[(102, 8)] = DONE
    second = await CompletionPoll(world.connector).run()
    assert (second.read, second.completed) == (3, 1)
    told = [t for t in await world.notices() if "cannotviewreport" in t]
    assert len(told) == 1 and "Moodle course 102" in told[0]
    assert not [t for t in await world.notices() if "usernotenroled" in t]  # a push waits


def cli(db_url: str, url: str, token: str = TOKEN, *args: str):
    env = {
        "DATABASE_URL": db_url,
        "ENROLBOT_SECRET_KEY": "moodle-cli-test-key-0123456789abcdef",
        "MOODLE_URL": url,
        "MOODLE_TOKEN": token,
    }
    return CliRunner().invoke(main, ["moodle", "status", *args], env=env)


def test_status_checks_the_connection_and_shows_pushes(db_url, moodle):
    site, url = moodle

    async def seed() -> None:
        engine = make_engine(db_url)
        try:
            import httpx

            async with httpx.AsyncClient() as http:
                world = await World(make_sessionmaker(engine), http, url).build()
                site.courses[101].manual = False
                await world.enrol("ann@example.com", "m101")
                await world.enrol("bob@example.com", "m102")
                await world.deliver()
        finally:
            await engine.dispose()

    asyncio.run(seed())
    shown = cli(db_url, url)
    assert shown.exit_code == 0, shown.output
    assert f"Moodle site: {url}" in shown.output
    assert "Connection: ok, to Stand-in Moodle as wsuser" in shown.output
    assert "Mapped: 3 items to 3 Moodle courses." in shown.output
    assert "Pushed (enrolments and withdrawals): 1 sent, 1 waiting, 0 failed." in shown.output
    assert "ann@example.com  course 101  wsnoinstance: Manual enrolment plugin" in shown.output

    refused = cli(db_url, url, "wrong")
    assert refused.exit_code == 1
    assert "Connection: failed. Moodle refused MOODLE_TOKEN" in refused.output
    site.enabled = ("core_webservice_get_site_info",)
    lacking = cli(db_url, url)
    assert (
        lacking.exit_code == 1 and "Missing functions: enrol_manual_enrol_users" in lacking.output
    )
    off = CliRunner().invoke(
        main, ["moodle", "status"], env={"DATABASE_URL": db_url, "ENROLBOT_SECRET_KEY": "k" * 40}
    )
    assert off.exit_code == 0 and "Moodle is off: set MOODLE_URL and MOODLE_TOKEN" in off.output
