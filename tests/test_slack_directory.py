"""Slack as a directory source, in process against Slack's stand-in over HTTP: users.list pages
into people, linked user groups and channels into groups; a failed page removes no one, the
removal threshold stops a sync, and a free plan's user groups get a sentence."""

from __future__ import annotations

from contextlib import asynccontextmanager

import pytest
from sqlalchemy import select

from bot.app import Platforms
from bot.directory_sync import directory_sources
from bot.runtime import Runtime
from bot.settings import Settings
from handlers import directory
from handlers.commands.group_links import PAID_PLAN
from handlers.directory import Origin, Outcome, SyncRun
from handlers.organisations import default_organisation
from store.models import GroupSource, OutboxMessage, User, UserStatus
from tests.support.servers import ServedApp
from tests.support.slack_directory_standin import usergroup
from tests.support.slack_standin import SlackStandIn, member
from tests.support.slack_world import DIRECTORY

CHANNEL = "C0NEWBIES"
PEOPLE = 2500  # three pages of users.list and of conversations.members


def staff(i: int) -> dict:
    return member(f"U{i:06d}", f"p{i}@acme.test", f"P{i}", "Staff", profile_title="")


@asynccontextmanager
async def slack_source(db_url: str, standin: SlackStandIn, *, provision: bool = True):
    """The real Slack endpoint's directory source, pointed at the stand-in."""
    with ServedApp(standin.app) as served:
        standin.url = served.url
        settings = Settings(
            _env_file=None,
            DATABASE_URL=db_url,
            ENROLBOT_SECRET_KEY="test-key-of-thirty-two-bytes-0123",
            ENROLBOT_ADMINS="boss@acme.test",
            SLACK_SIGNING_SECRET="s",
            SLACK_BOT_TOKEN="xoxb-test-token",
            SLACK_API_URL=f"{served.url}/api/",
        )
        runtime = Runtime.start(settings)
        platforms = Platforms.start(runtime)
        await platforms.open()
        try:
            async with runtime.transaction() as session:
                org = await default_organisation(session)
                org.sso_auto_provision = provision
            yield runtime, platforms
        finally:
            await platforms.close()
            await runtime.close()


def world_standin() -> SlackStandIn:
    standin = SlackStandIn()
    for user in DIRECTORY:
        standin.add_user(dict(user))
    standin.users["U0ANN"]["profile"]["title"] = "Safety officer"
    for i in range(PEOPLE):
        standin.add_user(staff(i))
    standin.add_channel(CHANNEL, name="newbies")
    standin.members_of[CHANNEL] = [f"U{i:06d}" for i in range(PEOPLE)]
    standin.add_usergroup(
        usergroup("S0DESIGN", "design", "Design", ["U0ANN", "U0DONE", "U0GUEST", "U0GONE"])
    )
    return standin


async def link(runtime, source, source_id, name):
    async with runtime.transaction() as session:
        org = await default_organisation(session)
        await directory.source_group(session, org.id, source, source_id, name)
        return org.id


async def members(runtime, source, source_id) -> set[str]:
    from handlers.directory.memberships import current_members

    async with runtime.transaction() as session:
        org = await default_organisation(session)
        (group,) = [
            g
            for g in await directory.source_groups(session, org.id, source)
            if g.source_id == source_id
        ]
        ids = await current_members(session, group.id)
        rows = await session.execute(select(User.email).where(User.id.in_(ids)))
        return {e.lower() for e in rows.scalars()}


async def sync(runtime, platforms, org_id, **kw) -> tuple[list[str], SyncRun]:
    run = SyncRun(runtime.sessions, org_id, bootstrap_admins=runtime.settings.admin_emails, **kw)
    lines = await directory_sources(runtime, platforms).sync(run, "slack")
    return lines, run


async def test_a_full_sync_pages_people_user_groups_and_channels_in(db_url):
    standin = world_standin()
    async with slack_source(db_url, standin) as (runtime, platforms):
        org_id = await link(runtime, GroupSource.SLACK_USERGROUP, "S0DESIGN", "Design")
        await link(runtime, GroupSource.SLACK_CHANNEL, CHANNEL, "newbies")
        lines, run = await sync(runtime, platforms, org_id)
        assert [r.outcome for r in run.results] == [Outcome.APPLIED, Outcome.APPLIED], lines
        # Members with an email became people; guests, strangers, bots and the deleted did not.
        async with runtime.transaction() as session:
            emails = {
                e.lower(): (s, f)
                for e, s, f in await session.execute(select(User.email, User.status, User.function))
            }
        assert len(emails) == PEOPLE + 5
        assert emails["ann@acme.test"] == (UserStatus.ACTIVE, "Safety officer")
        assert not {"guest@partner.test", "x@other.test", "gone@acme.test"} & set(emails)
        assert await members(runtime, GroupSource.SLACK_USERGROUP, "S0DESIGN") == {
            "ann@acme.test",
            "done@acme.test",
        }
        assert len(await members(runtime, GroupSource.SLACK_CHANNEL, CHANNEL)) == PEOPLE
        # Paged as Slack pages: 999 a page, until next_cursor comes back empty.
        assert standin.page_calls == {"users.list": 3, "conversations.members": 3}
        assert all(int(c.args["limit"]) < 1000 for c in standin.calls_of("users.list"))


async def test_a_failed_page_removes_no_one_and_too_many_removals_stop(db_url):
    standin = world_standin()
    async with slack_source(db_url, standin) as (runtime, platforms):
        org_id = await link(runtime, GroupSource.SLACK_CHANNEL, CHANNEL, "newbies")
        await sync(runtime, platforms, org_id)
        # 100 leave the channel (4 %), but the second page fails: no one is removed.
        standin.members_of[CHANNEL] = standin.members_of[CHANNEL][100:]
        standin.fail_page("conversations.members", 999, "fetch_members_failed")
        lines, run = await sync(runtime, platforms, org_id)
        assert run.results[-1].outcome is Outcome.PARTIAL
        assert "nothing removed" in lines[-1]
        assert len(await members(runtime, GroupSource.SLACK_CHANNEL, CHANNEL)) == PEOPLE
        # Complete again: the 100 leave (under 5 %).
        await sync(runtime, platforms, org_id)
        assert len(await members(runtime, GroupSource.SLACK_CHANNEL, CHANNEL)) == PEOPLE - 100
        # 500 more would leave (over 5 %): the sync stops, changes nothing, the admins hear.
        standin.members_of[CHANNEL] = standin.members_of[CHANNEL][500:]
        lines, run = await sync(runtime, platforms, org_id)
        assert run.results[-1].outcome is Outcome.STOPPED
        assert "stopped, nothing changed" in lines[-1]
        assert len(await members(runtime, GroupSource.SLACK_CHANNEL, CHANNEL)) == PEOPLE - 100
        async with runtime.transaction() as session:
            notices = (await session.execute(select(OutboxMessage.payload))).scalars().all()
        assert any("stopped and changed nothing" in n["text"] for n in notices)


async def test_slack_deactivates_only_people_it_marks_deleted(db_url):
    standin = world_standin()
    async with slack_source(db_url, standin) as (runtime, platforms):
        org_id = await link(runtime, GroupSource.SLACK_CHANNEL, CHANNEL, "newbies")
        await sync(runtime, platforms, org_id)
        # Left out of users.list (another workspace of the Grid, say): kept as they are.
        del standin.users["U000001"]
        standin.users["U000002"]["deleted"] = True
        await sync(runtime, platforms, org_id)
        async with runtime.transaction() as session:
            status = {e: s for e, s in await session.execute(select(User.email, User.status))}
        assert status["p1@acme.test"] is UserStatus.ACTIVE
        assert status["p2@acme.test"] is UserStatus.DEACTIVATED


async def test_slack_restores_whom_it_deactivated_but_not_whom_scim_did(db_url):
    standin = world_standin()
    async with slack_source(db_url, standin) as (runtime, platforms):
        org_id = await link(runtime, GroupSource.SLACK_CHANNEL, CHANNEL, "newbies")
        standin.users["U000002"]["deleted"] = True
        await sync(runtime, platforms, org_id)
        async with runtime.transaction() as session:
            p3 = await session.execute(select(User.id).where(User.email == "p3@acme.test"))
            await directory.deactivate(session, org_id, [p3.scalar_one()], Origin("scim"))
        standin.users["U000002"]["deleted"] = False  # restored in Slack
        await sync(runtime, platforms, org_id)
        async with runtime.transaction() as session:
            status = {e: s for e, s in await session.execute(select(User.email, User.status))}
        assert status["p2@acme.test"] is UserStatus.ACTIVE
        assert status["p3@acme.test"] is UserStatus.DEACTIVATED  # the identity provider's word


async def test_without_provisioning_slack_links_only_people_known_by_email(db_url):
    standin = world_standin()
    async with slack_source(db_url, standin, provision=False) as (runtime, platforms):
        org_id = await link(runtime, GroupSource.SLACK_USERGROUP, "S0DESIGN", "Design")
        async with runtime.transaction() as session:
            session.add(User(organisation_id=org_id, email="ann@acme.test", first_name="A"))
        await sync(runtime, platforms, org_id)
        async with runtime.transaction() as session:
            emails = (await session.execute(select(User.email))).scalars().all()
        assert emails == ["ann@acme.test"]
        assert await members(runtime, GroupSource.SLACK_USERGROUP, "S0DESIGN") == {"ann@acme.test"}


async def test_a_free_plan_says_user_groups_need_a_paid_plan(db_url):
    standin = world_standin()
    standin.plan = "free"
    async with slack_source(db_url, standin) as (runtime, platforms):
        org_id = await link(runtime, GroupSource.SLACK_USERGROUP, "S0DESIGN", "Design")
        lines, _ = await sync(runtime, platforms, org_id)
        assert f"slack: {PAID_PLAN}" in lines


async def test_rate_limited_pages_are_retried_after_retry_after(db_url):
    standin = world_standin()
    standin.fail_next(
        "conversations.members", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}
    )
    async with slack_source(db_url, standin) as (runtime, platforms):
        org_id = await link(runtime, GroupSource.SLACK_CHANNEL, CHANNEL, "newbies")
        _, run = await sync(runtime, platforms, org_id)
        assert run.results[-1].outcome is Outcome.APPLIED
        assert len(await members(runtime, GroupSource.SLACK_CHANNEL, CHANNEL)) == PEOPLE


@pytest.mark.parametrize("limit", ["0", "1001"])
def test_the_standin_refuses_limits_slack_refuses(limit):
    standin = SlackStandIn()
    standin.add_channel(CHANNEL)
    answer = standin._conversations_members({"channel": CHANNEL, "limit": limit})
    assert answer == {"ok": False, "error": "invalid_limit"}
