"""group link and unlink as handlers see them: Slack-only commands answered on Teams with where
they work, and unlinking a group that Slack or Teams keeps."""

from __future__ import annotations

from handlers import directory
from handlers.commands import run
from handlers.directory import Origin
from handlers.replies import Notice, Tone
from store.models import GroupSource
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


async def test_unlink_ends_a_linked_groups_memberships_and_refuses_others(acme):
    group = await directory.source_group(
        acme.session, acme.org.id, GroupSource.SLACK_CHANNEL, "C0NEW", "newbies"
    )
    people = [acme.users["ann@example.com"].id, acme.users["cat@example.com"].id]
    await directory.add_members(acme.session, group, people, Origin("slack_channel"))
    await run(await acme.ctx(BOSS), "group create Mentors")
    ctx = await acme.ctx(BOSS)
    reply = await run(ctx, "group unlink newbies")
    assert reply == Notice(
        "Unlinked newbies (a Slack channel); it had 2 members, whose history stays.", Tone.SUCCESS
    )
    assert await directory.source_groups(acme.session, acme.org.id, GroupSource.SLACK_CHANNEL) == []
    assert error(await run(ctx, "group unlink Mentors")) == (
        "Mentors isn't linked to Slack or Teams (made by hand): `group delete` deletes it."
    )
