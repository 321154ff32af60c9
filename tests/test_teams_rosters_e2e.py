"""A Teams team as a group, end to end: `group link team` in the team, the roster fetched
through the stand-in connector's pagedmembers (paged as documented), membersAdded and
membersRemoved recorded with their source and time, and the full sync's safety rules."""

from __future__ import annotations

import copy
import time

import pytest
from sqlalchemy import select

from handlers.commands.team_link import OFFER, SEND_IN_TEAM
from store.models import (
    ChangeKind,
    DirectoryChange,
    Group,
    GroupSource,
    Membership,
    User,
)
from tests.support.teams_world import DIRECTORY, TEAM, TeamsWorld, card_text, member
from tests.support.waiting import wait_until

ROSTER = ("admin", "ann", "off", "new", "guest", "external", "anon")


def roster(*keys: str) -> list[dict]:
    return [copy.deepcopy(DIRECTORY[k]) for k in keys]


@pytest.fixture
def world(db_url, tmp_path):
    with TeamsWorld(db_url, tmp_path) as w:
        w.connector.rosters[TEAM] = roster(*ROSTER)
        yield w


def members(world: TeamsWorld) -> dict[str, str]:
    """The team's group now: each member's email and the source of their membership."""

    async def work(session):
        rows = await session.execute(
            select(User.email, Membership.source)
            .join(Membership, Membership.user_id == User.id)
            .join(Group, Group.id == Membership.group_id)
            .where(Group.source_id == TEAM, Membership.ended_at.is_(None))
        )
        return dict(rows.all())

    return world.db.run(work)


def changes(world: TeamsWorld, kind: ChangeKind) -> list[tuple]:
    async def work(session):
        rows = await session.execute(
            select(User.email, DirectoryChange.source, DirectoryChange.at)
            .join(User, User.id == DirectoryChange.user_id)
            .where(DirectoryChange.kind == kind)
            .order_by(DirectoryChange.id)
        )
        return [tuple(r) for r in rows]

    return world.db.run(work)


def private_notices(world: TeamsWorld, count: int) -> list[str]:
    """What reached the admin's personal chat, as read."""

    def texts() -> list[str]:
        return [
            card_text(a["content"])
            for s in world.connector.sent
            if s.method == "POST" and s.activity_id is None and s.conversation.startswith("a:")
            for a in s.body.get("attachments", [])
        ]

    wait_until(lambda: len(texts()) >= count, f"{count} private notices", 15)
    return texts()


def link(world: TeamsWorld) -> str:
    return card_text(world.say("admin", "group link team"))


def test_linking_a_team_fetches_its_roster_and_reports_privately(world):
    assert card_text(
        world.say("admin", "group link team", where="personal")
    ) == SEND_IN_TEAM.replace("`", "")
    answer = link(world)
    assert answer.startswith("Linked the team Acme Ops as the group Acme Ops")
    [report] = private_notices(world, 1)
    assert "The team Acme Ops: 3 people joined its group and 0 people left it" in report
    assert "left out until they are portal users: 1 person" in report
    assert "guests and outside people are never in it: 3 people" in report
    # Ann's Teams email differs in case only; Ola is deactivated but still in the team.
    assert members(world) == {
        "boss@acme.test": "teams_team",
        "ann@acme.test": "teams_team",
        "off@acme.test": "teams_team",
    }
    source = world.db.scalar(select(Group.source).where(Group.source_id == TEAM))
    assert source is GroupSource.TEAMS_TEAM
    [request] = world.connector.page_requests
    assert request == {"team": TEAM, "pageSize": "500"}
    joined = changes(world, ChangeKind.JOINED)
    assert {(e, s) for e, s, _ in joined} == {
        ("boss@acme.test", "teams_team"),
        ("ann@acme.test", "teams_team"),
        ("off@acme.test", "teams_team"),
    }
    assert all(at is not None for *_, at in joined)
    assert world.db.count(User, User.email == "new@acme.test") == 0
    assert world.db.count(User, User.email.like("%partner%")) == 0


def test_members_joining_and_leaving_the_team_are_recorded_as_they_happen(world):
    world.connector.rosters[TEAM] = roster("admin")
    world.team_name = None  # messages leave the team's name out: the connector says it
    world.team_update("teamMemberAdded", added=("bot",))  # not linked yet: the offer
    [offer] = world.wait_messages(TEAM, 1)
    assert card_text(offer["attachments"][0]["content"]) == OFFER.replace("`", "")
    assert link(world).startswith("Linked the team Acme Ops")
    [report] = private_notices(world, 1)
    assert report.startswith("The team Acme Ops: 1 person joined its group")
    assert members(world) == {"boss@acme.test": "teams_team"}
    world.team_update("teamMemberAdded", added=("ann", "done", "guest", "bot"))
    wait_until(lambda: len(members(world)) == 3, "ann and done joining", 10)
    assert set(members(world)) == {"boss@acme.test", "ann@acme.test", "done@acme.test"}
    world.team_update("teamMemberRemoved", removed=("ann",))
    wait_until(lambda: "ann@acme.test" not in members(world), "ann leaving", 10)
    [(email, source, at)] = changes(world, ChangeKind.LEFT)
    assert (email, source) == ("ann@acme.test", "teams_team") and at is not None
    # The bot's own arrival in a linked team offers nothing and adds no one.
    assert len(world.messages_to(TEAM)) == 1
    world.team_update("teamRenamed", name="Acme Operations")
    wait_until(
        lambda: (
            world.db.scalar(select(Group.name).where(Group.source_id == TEAM)) == "Acme Operations"
        ),
        "the rename",
        10,
    )
    # Another tenant's team with the same id (a forgery at most) changes nothing.
    other = world.activity("admin", type="conversationUpdate")
    other["conversation"]["tenantId"] = other["channelData"]["tenant"]["id"] = "another-tenant"
    other["membersRemoved"] = [{"id": DIRECTORY["done"]["id"], "aadObjectId": "aad-done"}]
    assert world.send(other).status_code == 200
    time.sleep(0.5)  # an update is recorded after its answer; this one is not recorded at all
    assert members(world) == {"boss@acme.test": "teams_team", "done@acme.test": "teams_team"}
    # The app removed: the group stops following the team and keeps its members
    # (tests/test_group_unlink_e2e.py has the rest).
    world.team_update("teamMemberRemoved", removed=("bot",))
    wait_until(lambda: not members(world), "the group unlinked", 10)
    assert world.db.scalar(select(Group.source)) is GroupSource.MANUAL
    assert world.db.count(Membership, Membership.ended_at.is_(None)) == 2


@pytest.fixture
def big(db_url, tmp_path):
    with TeamsWorld(db_url, tmp_path, auto_provision=True) as w:
        people = [member(f"p{n:04}", f"p{n:04}@acme.test", "P", f"{n:04}") for n in range(1200)]
        w.connector.rosters[TEAM] = [copy.deepcopy(DIRECTORY["admin"]), *people]
        yield w


def test_a_full_sync_pages_and_keeps_to_its_safety_rules(big):
    big.connector.fail_page(2, status=429, times=1)  # throttled once: asked again, as told
    link(big)
    [report] = private_notices(big, 1)
    assert "1201 people joined its group" in report and "1200 people became portal users" in report
    assert [r.get("continuationToken") is not None for r in big.connector.page_requests] == [
        False,
        True,
        True,
        True,
    ]
    assert {r["pageSize"] for r in big.connector.page_requests} == {"500"}
    assert len(members(big)) == 1201
    team = big.connector.rosters[TEAM]
    gone = team[1:101]
    del team[1:101]  # 100 of 1201 left the team while no one was listening
    big.connector.fail_page(1)  # and the second page fails, every time it is asked
    big.say("admin", "group sync teams")
    lines = private_notices(big, 2)[-1]
    assert "incomplete: nothing removed" in lines
    assert len(members(big)) == 1201
    big.connector.page_failures.clear()
    big.say("admin", "group sync teams")
    # The report to the one who asked, and the admins' notice in their Teams personal chat.
    report, notice = sorted(private_notices(big, 4)[2:], key=lambda t: t.startswith("The"))
    assert "stopped, nothing changed: it would have deactivated or removed 100 of 1201" in report
    assert notice.startswith("The directory sync from teams_team stopped and changed nothing")
    assert len(members(big)) == 1201
    team[1:1] = gone[:95]  # only 5 are really gone: under 5 %
    big.say("admin", "group sync teams")
    lines = private_notices(big, 5)[-1]
    assert "0 joined and 5 left groups" in lines
    assert len(members(big)) == 1196
