"""Slack user groups and channels as groups, end to end: the real app over HTTP, commands and
events signed as Slack signs them, Slack's stand-in answering as its documentation says."""

from __future__ import annotations

import time

from sqlalchemy import select

from handlers.commands.group_links import PAID_PLAN
from store.models import Group, GroupSource, Membership, User
from tests.support.slack_directory_standin import usergroup
from tests.support.slack_standin import member
from tests.support.slack_world import ADMIN, ANN, SlackWorld, text_of


def reply_text(reply: dict) -> str:
    return text_of(reply) or reply.get("text", "")


def members_of(world: SlackWorld, source: GroupSource, source_id: str) -> set[str]:
    async def read(session):
        rows = await session.execute(
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .join(Group, Group.id == Membership.group_id)
            .where(
                Group.source == source,
                Group.source_id == source_id,
                Membership.ended_at.is_(None),
            )
        )
        return {e.lower() for e in rows.scalars()}

    return world.db.run(read)


def eventually(check, expected, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while (got := check()) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"{got!r} != {expected!r} after {timeout}s")
        time.sleep(0.05)


def dm_text(world: SlackWorld, count: int) -> str:
    return reply_text(world.wait_messages(ADMIN, count, timeout=20)[count - 1])


def test_a_linked_user_group_follows_slack(db_url):
    with SlackWorld(db_url, auto_provision=True) as world:
        slack = world.slack
        slack.add_usergroup(usergroup("S0DESIGN", "design", "Design", [ANN, "U0DONE", "U0GUEST"]))
        reply = world.command(ADMIN, "group link usergroup <!subteam^S0DESIGN|@design>")
        assert "Linked @design as the group Design" in reply_text(reply)
        assert "@design: slack_usergroup: " in dm_text(world, 1)
        assert "2 joined" in dm_text(world, 1)
        design = lambda: members_of(world, GroupSource.SLACK_USERGROUP, "S0DESIGN")  # noqa: E731
        assert design() == {"ann@acme.test", "done@acme.test"}

        # A delta: one added (not known yet: looked up with users.info), one removed.
        slack.add_user(member("U0LATE", "late@acme.test", "Lou", "Late"))
        slack.usergroups["S0DESIGN"]["users"] = [ANN, "U0LATE", "U0GUEST"]
        world.event(
            {
                "type": "subteam_members_changed",
                "subteam_id": "S0DESIGN",
                "team_id": "T0ACME",
                "date_previous_update": 1446670362,
                "date_update": 1492906952,
                "added_users": ["U0LATE"],
                "added_users_count": "1",
                "removed_users": ["U0DONE"],
                "removed_users_count": "1",
            }
        )
        eventually(design, {"ann@acme.test", "late@acme.test"})

        # subteam_updated with fewer than 500: its list is whole, and Slack is asked nothing.
        asked = len(slack.calls_of("usergroups.users.list"))
        slack.usergroups["S0DESIGN"]["users"] = [ANN, "U0DONE"]
        world.event(
            {
                "type": "subteam_updated",
                "subteam": usergroup("S0DESIGN", "design", "Design", [ANN, "U0DONE"]),
            }
        )
        eventually(design, {"ann@acme.test", "done@acme.test"})
        assert len(slack.calls_of("usergroups.users.list")) == asked

        # subteam_updated with 600 members: its list is cut at 500, so the whole list is asked
        # of usergroups.users.list.
        many = [f"U{i:06d}" for i in range(600)]
        for uid in many:
            slack.add_user(member(uid, f"{uid.lower()}@acme.test", "P", uid))
        world.command(ADMIN, "group sync slack")  # the 600 become people
        assert "600 people added" in dm_text(world, 2)
        slack.usergroups["S0DESIGN"]["users"] = many
        world.event(
            {
                "type": "subteam_updated",
                "subteam": usergroup("S0DESIGN", "design", "Designers", many[:500])
                | {"user_count": 600},
            }
        )
        eventually(lambda: len(design()), 600)
        assert slack.calls_of("usergroups.users.list")
        assert world.db.run(_group_names) == ["Designers"]


async def _group_names(session):
    rows = await session.execute(select(Group.name).where(Group.source_id == "S0DESIGN"))
    return list(rows.scalars())


def test_a_linked_channel_follows_who_joins_and_leaves_and_people_stay_current(db_url):
    with SlackWorld(db_url, auto_provision=True) as world:
        slack = world.slack
        slack.add_channel("C0NEW", name="newbies")
        slack.members_of["C0NEW"] = [ANN]
        reply = world.command(ADMIN, "group link channel <#C0NEW|newbies>")
        assert "Linked #newbies as the group newbies" in reply_text(reply)
        channel = lambda: members_of(world, GroupSource.SLACK_CHANNEL, "C0NEW")  # noqa: E731
        eventually(channel, {"ann@acme.test"})
        joined = {"type": "member_joined_channel", "channel": "C0NEW", "channel_type": "C"}
        world.event({**joined, "user": "U0NEW", "team": "T0ACME"})
        eventually(channel, {"ann@acme.test", "new@acme.test"})
        world.event({**joined, "type": "member_left_channel", "user": ANN, "team": "T0ACME"})
        eventually(channel, {"new@acme.test"})

        # team_join makes a person (the organisation provisions); user_change keeps them
        # current: the title is their function, deleted deactivates them.
        nia = member("U0NIA", "nia@acme.test", "Nia", "Ng")
        world.event({"type": "team_join", "user": nia})
        eventually(lambda: world.db.run(_person("nia@acme.test")), ("active", None))
        nia["profile"]["title"] = "Nurse"
        world.event({"type": "user_change", "user": nia})
        eventually(lambda: world.db.run(_person("nia@acme.test")), ("active", "Nurse"))
        world.event({"type": "user_change", "user": {**nia, "deleted": True}})
        eventually(lambda: world.db.run(_person("nia@acme.test")), ("deactivated", "Nurse"))
        # Slack restores her: she is active again.
        world.event({"type": "user_change", "user": {**nia, "deleted": False}})
        eventually(lambda: world.db.run(_person("nia@acme.test")), ("active", "Nurse"))


def _person(email: str):
    async def read(session):
        user = (await session.execute(select(User).where(User.email == email))).scalar()
        return (user.status.value, user.function) if user else None

    return read


def test_links_that_cannot_work_say_how_to_fix_them(db_url):
    with SlackWorld(db_url) as world:
        world.slack.add_channel("C0QUIET", name="quiet", member=False)
        reply = reply_text(world.command(ADMIN, "group link channel <#C0QUIET|quiet>"))
        assert "I'm not in #quiet" in reply and "/invite @enrolbot" in reply
        reply = reply_text(world.command(ADMIN, "group link channel #nowhere"))
        assert "I can't find the channel #nowhere" in reply
        world.slack.plan = "free"
        reply = reply_text(world.command(ADMIN, "group link usergroup @design"))
        assert PAID_PLAN.split(":")[0] in reply
        assert world.db.run(_group_count) == 0


async def _group_count(session):
    rows = await session.execute(select(Group.id).where(Group.source_id.is_not(None)))
    return len(list(rows.scalars()))
