"""group list | show | create | add | remove | delete | sync, and person show."""

from __future__ import annotations

from sqlalchemy import select

from handlers import directory
from handlers.commands import run
from handlers.directory import Origin
from handlers.replies import Notice, Tone
from store.models import GroupKind, GroupSource, Membership, User
from tests.support.command_world import BOSS, error


async def _members(acme, name, kind=None):
    await acme.session.commit()  # what the commands did, as another session sees it
    async with acme.sessions() as s:
        (group,) = await directory.find_group(s, acme.org.id, name, kind)
        rows = await s.execute(
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.group_id == group.id, Membership.ended_at.is_(None))
        )
        return sorted(rows.scalars())


async def test_create_add_show_remove_delete_a_group(acme):
    ctx = await acme.ctx("sam@example.com")  # a standard admin may
    reply = await run(ctx, 'group create "First aiders" --kind qualification')
    assert reply == Notice("Made the qualification First aiders.", Tone.SUCCESS)
    reply = await run(ctx, 'group add "first aiders" ann@example.com cat@example.com')
    assert reply == Notice("Added 2 people to First aiders (qualification).", Tone.SUCCESS)
    assert await _members(acme, "First aiders") == ["ann@example.com", "cat@example.com"]
    reply = await run(ctx, 'group show "First aiders"')
    assert reply.lines == (
        "Kind: qualification",
        "From: made by hand",
        "Members: 2",
        "ann@example.com",
        "cat@example.com",
    )
    reply = await run(ctx, 'group remove "First aiders" cat@example.com')
    assert reply == Notice("Took 1 person out of First aiders (qualification).", Tone.SUCCESS)
    listed = await run(ctx, "group list")
    assert listed.lines == ("First aiders · qualification · 1 member · made by hand",)
    reply = await run(ctx, 'group delete "First aiders"')
    assert reply == Notice("Deleted First aiders (qualification); it had 1 member.", Tone.SUCCESS)
    assert (await run(ctx, "group list")).text.startswith("There are no groups yet")


async def test_adding_to_a_department_sets_the_department_and_person_show_says_where(acme):
    ctx = await acme.ctx(BOSS)
    await run(ctx, "group create Sales --kind department")
    await run(ctx, "group add Sales ann@example.com")
    await acme.session.commit()
    async with acme.sessions() as s:
        ann = await s.get(User, acme.users["ann@example.com"].id)
        assert ann.department == "Sales"
    reply = await run(ctx, "person show ann@example.com")
    assert reply.text == "Ann Lee (ann@example.com):"
    assert reply.lines[0] == "Status: active"
    assert reply.lines[1].startswith("Department: Sales · from manual, since ")
    assert any(
        line.startswith("In Sales (department, made by hand) since ") and line.endswith("manual")
        for line in reply.lines
    )


async def test_a_group_kept_by_slack_is_refused_with_where_to_change_it(acme):
    async with acme.sessions() as s, s.begin():
        group = await directory.source_group(
            s, acme.org.id, GroupSource.SLACK_CHANNEL, "C0DESIGN", "design"
        )
        await directory.add_members(
            s, group, [acme.users["cat@example.com"].id], Origin("slack_channel")
        )
    ctx = await acme.ctx(BOSS)
    assert error(await run(ctx, "group add design ann@example.com")) == (
        "design is kept by its Slack channel (people join or leave the channel): change its "
        "members there, and enrolbot follows within a minute (or at the next `group sync`)."
    )
    assert error(await run(ctx, "group delete design")).startswith("design is kept by")
    assert await _members(acme, "design") == ["cat@example.com"]


async def test_group_words_that_cannot_work_say_what_to_type(acme):
    ctx = await acme.ctx(BOSS)
    assert error(await run(ctx, "group show Nowhere")) == (
        "There's no group called Nowhere; `group list` shows them."
    )
    assert error(await run(ctx, "group list teams")) == (
        "`teams` is not a kind of group; use one of company, department, team, function, "
        "group, qualification."
    )
    await run(ctx, "group create Blue --kind team")
    await run(ctx, "group create Blue")
    assert error(await run(ctx, "group add Blue ann@example.com")) == (
        "Several groups are called Blue (group, team): add --kind KIND to say which."
    )
    reply = await run(ctx, "group add Blue ann@example.com --kind team")
    assert reply.tone is Tone.SUCCESS
    assert await _members(acme, "Blue", GroupKind.TEAM) == ["ann@example.com"]
    assert error(await run(ctx, "group add Blue nobody@example.com --kind team")).startswith(
        "There's no training account for nobody@example.com."
    )


async def test_learners_cannot_manage_groups_and_group_sync_without_sources_says_so(acme):
    reply = await run(await acme.ctx("ann@example.com"), "group list")
    assert reply.tone is Tone.ERROR
    reply = await run(await acme.ctx(BOSS), "group sync")
    assert reply == Notice(directory.NO_SOURCES)
    help_text = await run(await acme.ctx(BOSS), "help")
    assert "group sync" in str(help_text) and "person show" in str(help_text)


async def test_a_long_group_list_shows_fifty_and_says_how_to_narrow_it(acme):
    await directory.named_groups(
        acme.session,
        acme.org.id,
        GroupKind.TEAM,
        [f"Team {n:02d}" for n in range(55)],
        create=GroupSource.MANUAL,
    )
    reply = await run(await acme.ctx(BOSS), "group list")
    assert reply.text == "55 groups:"
    assert len(reply.lines) == 51
    assert reply.lines[-1] == "… and 5 more: narrow it down with `/enrol group list KIND`."
