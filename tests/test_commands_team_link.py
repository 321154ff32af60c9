"""group link team: a Teams-only command, linking the team it is sent in."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from handlers.commands import run
from handlers.commands.context import TeamHere
from handlers.commands.team_link import SEND_IN_TEAM
from handlers.identity import Account
from handlers.replies import Tone
from store.models import AuditEvent, Group, GroupSource
from tests.support.command_world import BOSS, error

TEAM_ID = "19:sales-team@thread.tacv2"


async def _teams_ctx(acme, *, team: TeamHere | None, personal: bool = False):
    ctx = await acme.ctx(BOSS, prefix="enrol", channels_by_name=False, personal=personal)
    ctx.account = replace(ctx.account, provider="teams")
    ctx.team = team
    return ctx


async def test_linking_the_team_it_is_sent_in_makes_its_group_and_starts_a_sync(acme):
    started = []
    here = TeamHere(TEAM_ID, "Sales EMEA", started.append)
    ctx = await _teams_ctx(acme, team=here)
    reply = await run(ctx, "group link team")
    assert reply.tone is Tone.SUCCESS
    assert reply.text.startswith("Linked the team Sales EMEA as the group Sales EMEA")
    assert started == ["Sales EMEA"]
    again = await run(ctx, "group link team")
    assert again.text.startswith("The team Sales EMEA is linked already")
    assert started == ["Sales EMEA", "Sales EMEA"]
    await acme.session.commit()
    async with acme.sessions() as s:
        groups = (await s.execute(select(Group))).scalars().all()
        assert [(g.name, g.source, g.source_id) for g in groups] == [
            ("Sales EMEA", GroupSource.TEAMS_TEAM, TEAM_ID)
        ]
        actions = (await s.execute(select(AuditEvent.action))).scalars().all()
        assert actions.count("group.linked") == 2


async def test_a_chat_is_not_a_team(acme):
    ctx = await _teams_ctx(acme, team=None, personal=True)
    assert error(await run(ctx, "group link team")) == SEND_IN_TEAM


async def test_slack_says_it_is_a_teams_command_and_help_leaves_it_out(acme):
    ctx = await acme.ctx(BOSS)
    assert error(await run(ctx, "group link team")) == (
        "`group link team` is a Teams command: send `enrol group link team` to the bot in a "
        "channel of the team."
    )
    listed = await run(ctx, "help")
    assert not any("group link team" in line for line in listed.lines)
    one = await run(ctx, "help group link team")
    assert one.text.startswith("`group link team` is a Teams command")
    teams = await _teams_ctx(acme, team=None)
    assert any("group link team" in line for line in (await run(teams, "help")).lines)


async def test_learners_are_refused_before_the_platform_is_named(acme):
    ctx = await acme.ctx("ann@example.com")
    assert "Only enrolment admins" in error(await run(ctx, "group link team"))


def test_the_account_provider_names_the_platform():
    assert Account("teams", "t", "s").provider == "teams"
