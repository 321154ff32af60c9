"""group link and unlink as handlers see them: Slack-only commands answered on Teams with where
they work, and unlinking a group that Slack or Teams keeps."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers import directory
from handlers.commands import run
from handlers.directory import Origin
from handlers.directory.memberships import current_members
from handlers.replies import Notice, Tone
from store.models import DirectoryChange, GroupSource
from tests.support.command_world import BOSS, error


async def test_a_slack_command_typed_in_teams_says_where_it_works(acme):
    teams = await acme.ctx(BOSS, prefix="enrol", channels_by_name=False, provider="teams")
    for text in ("group link channel #ops", "group link usergroup @design"):
        assert error(await run(teams, text)).startswith(
            f"`{' '.join(text.split()[:3])}` is a Slack command: type `/enrol {text.split()[0]}"
        )
    assert (await run(teams, "help group link channel")).text.startswith(
        "`group link channel` is a Slack command"
    )
    assert not any("group link channel" in line for line in (await run(teams, "help")).lines)
    # In Slack without a linker (a test context), it says it cannot, and changes nothing.
    slack = await acme.ctx(BOSS)
    assert error(await run(slack, "group link channel <#C1|ops>")).startswith("Linking groups")


async def test_unlink_keeps_the_members_and_refuses_groups_that_are_not_linked(acme):
    group = await directory.source_group(
        acme.session, acme.org.id, GroupSource.SLACK_CHANNEL, "C0NEW", "newbies"
    )
    people = [acme.users["ann@example.com"].id, acme.users["cat@example.com"].id]
    await directory.add_members(acme.session, group, people, Origin("slack_channel"))
    await run(await acme.ctx(BOSS), "group create Mentors")
    ctx = await acme.ctx(BOSS)
    reply = await run(ctx, "group unlink newbies")
    assert reply == Notice(
        "Unlinked newbies from a Slack channel. It keeps its 2 members, and changes in the "
        "channel no longer reach it: it is kept by hand now (`group add`, `group remove`). If "
        "you meant to empty it, `group delete newbies` ends every membership and deletes the "
        "group.",
        Tone.SUCCESS,
    )
    assert await directory.source_groups(acme.session, acme.org.id, GroupSource.SLACK_CHANNEL) == []
    assert await current_members(acme.session, group.id) == set(people)
    assert await acme.session.scalar(select(func.count()).select_from(DirectoryChange)) == 2
    shown = await run(ctx, "group show newbies")
    assert "From: kept by hand since it was unlinked from a Slack channel" in shown.lines
    # Kept by hand now: chat commands change it.
    assert "Took 1 person out of" in (await run(ctx, "group remove newbies cat@example.com")).text
    assert error(await run(ctx, "group unlink Mentors")) == (
        "Mentors isn't linked to Slack or Teams (made by hand): `group delete` deletes it."
    )


async def test_an_unlinked_group_whose_name_is_taken_is_marked_and_a_new_link_takes_it_back(acme):
    ctx = await acme.ctx(BOSS)
    await run(ctx, 'group create "Acme Ops"')
    team = await directory.source_group(
        acme.session, acme.org.id, GroupSource.TEAMS_TEAM, "19:team", "Acme Ops"
    )
    await directory.add_members(
        acme.session, team, [acme.users["ann@example.com"].id], Origin("teams_team")
    )
    reply = await run(ctx, 'group unlink "Acme Ops"')  # the linked one, though two share it
    assert reply.text.startswith("Unlinked Acme Ops from a Teams team. It keeps its 1 member")
    assert reply.text.endswith(
        "It is called Acme Ops (unlinked) now, as a group kept by hand had its name. If you "
        'meant to empty it, `group delete "Acme Ops (unlinked)"` ends every membership and '
        "deletes the group."
    )
    assert await directory.unlink_group(acme.session, team) is None  # once only
    again, taken_back = await directory.link_group(
        acme.session, acme.org.id, GroupSource.TEAMS_TEAM, "19:team", "Acme Operations"
    )
    assert (again.id, again.name, taken_back) == (team.id, "Acme Operations", True)
    assert (again.unlinked_source, again.unlinked_source_id) == (None, None)
    assert await current_members(acme.session, team.id) == {acme.users["ann@example.com"].id}
