"""Unlinking keeps a group's members, end to end on Slack and Teams: `group unlink`, the app
removed from a team and a team deleted each stop following the source, and a rule with
--withdraw-on-leave withdraws no one. Linking the same source again takes the group back and
reconciles it with the source."""

from __future__ import annotations

import time

from sqlalchemy import select

from store.models import (
    CatalogItem,
    ChangeKind,
    DirectoryChange,
    Enrolment,
    EnrolmentStatus,
    Group,
    GroupKind,
    GroupSource,
    Membership,
    OutboxMessage,
    User,
)
from tests.support.slack_standin import member
from tests.support.slack_world import ADMIN, ANN, SlackWorld, text_of
from tests.support.teams_world import DIRECTORY, TEAM, TeamsWorld, card_text
from tests.support.waiting import wait_until

# Reconciling a small group removes more than the default 5 %: allow it, as a checked
# `--force` would.
LENIENT = {"ENROLBOT_SYNC_MAX_REMOVAL_PERCENT": "50"}


def groups(world) -> list[tuple[int, str, GroupSource, str | None]]:
    """Every live group: id, name, source, source id."""

    async def read(session):
        rows = await session.execute(
            select(Group.id, Group.name, Group.source, Group.source_id)
            .where(Group.deleted_at.is_(None), Group.kind == GroupKind.GROUP)
            .order_by(Group.id)
        )
        return [tuple(r) for r in rows]

    return world.db.run(read)


def members(world, group_id: int) -> set[str]:
    async def read(session):
        rows = await session.execute(
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.group_id == group_id, Membership.ended_at.is_(None))
        )
        return {e.lower() for e in rows.scalars()}

    return world.db.run(read)


def privacy(world) -> dict[str, EnrolmentStatus]:
    """Everyone's enrolment in Privacy basics, by email."""

    async def read(session):
        rows = await session.execute(
            select(User.email, Enrolment.status)
            .join(Enrolment, Enrolment.user_id == User.id)
            .join(CatalogItem, CatalogItem.id == Enrolment.item_id)
            .where(CatalogItem.slug == "privacy")
        )
        return {e.lower(): s for e, s in rows}

    return world.db.run(read)


def left(world, group_id: int) -> int:
    return world.db.count(
        DirectoryChange,
        DirectoryChange.group_id == group_id,
        DirectoryChange.kind == ChangeKind.LEFT,
    )


def slack_reply(world: SlackWorld, text: str) -> str:
    reply = world.command(ADMIN, text)
    return text_of(reply) or reply.get("text", "")


def test_unlinking_a_channel_keeps_its_members_and_linking_it_again_reconciles(db_url):
    with SlackWorld(db_url, auto_provision=True, **LENIENT) as world:
        world.slack.add_channel("C0NEW", name="newbies")
        world.slack.members_of["C0NEW"] = [ANN, "U0NEW", "U0DONE"]
        slack_reply(world, "group link channel <#C0NEW|newbies>")
        [(group_id, *_)] = groups(world)
        wait_until(lambda: len(members(world, group_id)) == 3, "the first sync", 15)
        slack_reply(world, "rule create privacy --group newbies --withdraw-on-leave")
        everyone = {"ann@acme.test", "new@acme.test", "done@acme.test"}
        wait_until(lambda: set(privacy(world)) == everyone, "the rule enrolling them", 15)

        reply = slack_reply(world, "group unlink newbies")
        assert (
            "Unlinked newbies from a Slack channel. It keeps its 3 members, and changes in the "
            "channel no longer reach it: it is kept by hand now (`group add`, `group remove`). "
            "If you meant to empty it, `group delete newbies` ends every membership and deletes "
            "the group."
        ) in reply
        assert groups(world) == [(group_id, "newbies", GroupSource.MANUAL, None)]
        assert members(world, group_id) == everyone and left(world, group_id) == 0

        # Slack's changes no longer reach it: Ann leaves the channel, Nia's title changes after.
        world.slack.members_of["C0NEW"] = ["U0NEW", "U0DONE"]
        world.event(
            {
                "type": "member_left_channel",
                "channel": "C0NEW",
                "channel_type": "C",
                "user": ANN,
                "team": "T0ACME",
            }
        )
        nia = member("U0NEW", "new@acme.test", "Nia", "New")
        nia["profile"]["title"] = "Nurse"
        world.event({"type": "user_change", "user": nia})
        wait_until(lambda: _function(world, "new@acme.test") == "Nurse", "a later event", 10)
        assert members(world, group_id) == everyone
        assert set(privacy(world).values()) == {EnrolmentStatus.ENROLLED}
        shown = slack_reply(world, "group show newbies")
        assert "kept by hand since it was unlinked from a Slack channel" in shown

        # Linked again: the same group follows the channel, and Ann, gone from it, leaves.
        reply = slack_reply(world, "group link channel <#C0NEW|newbies>")
        assert "Linked #newbies again: the group newbies, kept by hand since it was unlinked" in (
            reply
        )
        wait_until(lambda: "ann@acme.test" not in members(world, group_id), "reconciling", 15)
        assert groups(world) == [(group_id, "newbies", GroupSource.SLACK_CHANNEL, "C0NEW")]
        assert members(world, group_id) == {"new@acme.test", "done@acme.test"}
        wait_until(
            lambda: privacy(world)["ann@acme.test"] is EnrolmentStatus.WITHDRAWN,
            "the rule withdrawing Ann, who left",
            15,
        )


def _function(world, email: str) -> str | None:
    return world.db.scalar(select(User.function).where(User.email == email))


def admin_notices(world: TeamsWorld) -> list[str]:
    """The notices written for the admins, as stored in the outbox."""

    async def read(session):
        rows = await session.execute(
            select(OutboxMessage.payload)
            .where(OutboxMessage.kind == "notice")
            .order_by(OutboxMessage.id)
        )
        return [p["text"] for p in rows.scalars()]

    return world.db.run(read)


def chat_cards(world: TeamsWorld, conversation: str) -> list[str]:
    return [card_text(m["attachments"][0]["content"]) for m in world.messages_to(conversation)]


def _linked_team(world: TeamsWorld) -> int:
    world.say("ann", "help")  # Ann is known to the bot
    assert card_text(world.say("admin", "group link team")).startswith("Linked the team")
    [(group_id, *_)] = groups(world)
    wait_until(lambda: len(members(world, group_id)) == 3, "the first sync", 15)
    world.say("admin", 'rule create privacy --group "Acme Ops" --withdraw-on-leave')
    everyone = {"boss@acme.test", "ann@acme.test", "done@acme.test"}
    wait_until(lambda: set(privacy(world)) == everyone, "the rule enrolling them", 15)
    return group_id


def _teams_world(db_url, tmp_path) -> TeamsWorld:
    world = TeamsWorld(db_url, tmp_path, **LENIENT)
    world.connector.rosters[TEAM] = [dict(DIRECTORY[k]) for k in ("admin", "ann", "done")]
    return world


def test_removing_the_app_from_a_team_keeps_its_group_and_tells_the_admins_once(db_url, tmp_path):
    with _teams_world(db_url, tmp_path) as world:
        group_id = _linked_team(world)
        world.app_removed()  # Teams sends both; the second changes nothing
        world.team_update("teamMemberRemoved", removed=("bot",))
        expected = (
            "enrolbot was removed from the team Acme Ops, so its group stopped following it. The "
            "group keeps its 3 members, and people joining or leaving the team no longer change "
            "it: it is kept by hand now. To follow the team again, add the app back to it and "
            "send `enrol group link team` in one of its channels. If you meant to empty it, "
            '`enrol group delete "Acme Ops"` ends every membership and deletes the group.'
        )
        wait_until(lambda: expected in admin_notices(world), "the admins told", 15)
        wait_until(
            lambda: any(
                "enrolbot was removed from the team Acme Ops" in card
                for card in chat_cards(world, "a:dm-aad-boss")
            ),
            "the notice in the admin's personal chat",
            15,
        )
        time.sleep(0.5)  # the second update is recorded after its answer, if at all
        assert admin_notices(world).count(expected) == 1
        assert groups(world) == [(group_id, "Acme Ops", GroupSource.MANUAL, None)]
        assert members(world, group_id) == {"boss@acme.test", "ann@acme.test", "done@acme.test"}
        assert left(world, group_id) == 0
        assert set(privacy(world).values()) == {EnrolmentStatus.ENROLLED}

        # Linked again, once the app is back: the same group, reconciled with the team.
        world.connector.rosters[TEAM] = [dict(DIRECTORY[k]) for k in ("admin", "done")]
        answer = card_text(world.say("admin", "group link team"))
        assert answer.startswith("Linked the team Acme Ops again: its group, kept by hand")
        wait_until(lambda: "ann@acme.test" not in members(world, group_id), "reconciling", 15)
        assert groups(world) == [(group_id, "Acme Ops", GroupSource.TEAMS_TEAM, TEAM)]
        wait_until(
            lambda: privacy(world)["ann@acme.test"] is EnrolmentStatus.WITHDRAWN,
            "the rule withdrawing Ann, who left the team",
            15,
        )


def test_a_deleted_team_leaves_its_group_with_its_members(db_url, tmp_path):
    with _teams_world(db_url, tmp_path) as world:
        group_id = _linked_team(world)
        world.team_update("teamDeleted")
        wait_until(
            lambda: any("was deleted in Teams" in n for n in admin_notices(world)),
            "the admins told",
            15,
        )
        [notice] = [n for n in admin_notices(world) if "was deleted in Teams" in n]
        assert notice.startswith(
            "The team Acme Ops was deleted in Teams, so its group stopped following it. The "
            "group keeps its 3 members"
        )
        assert "If the team is restored (Teams keeps a deleted team for 30 days)" in notice
        assert groups(world) == [(group_id, "Acme Ops", GroupSource.MANUAL, None)]
        assert members(world, group_id) == {"boss@acme.test", "ann@acme.test", "done@acme.test"}
        assert set(privacy(world).values()) == {EnrolmentStatus.ENROLLED}
        # Kept by hand now: a chat command takes someone out.
        reply = card_text(world.say("admin", 'group remove "Acme Ops" ann@acme.test'))
        assert reply.startswith("Took 1 person out of")
        wait_until(
            lambda: privacy(world)["ann@acme.test"] is EnrolmentStatus.WITHDRAWN,
            "the rule withdrawing Ann, taken out by hand",
            15,
        )
