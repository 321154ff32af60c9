"""enrol add | withdraw | list and team: enrolling others by hand (issue 15, seed 002's manual
enrolment and "My Team"), in process on both databases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from handlers import directory
from handlers.commands import run
from handlers.enrol import Outcome, enrol
from handlers.identity import Profile
from handlers.outbox import Batch, Channel, Delivery, SendOutcome
from handlers.replies import Notice, Tone
from handlers.rules.schedule import midnight
from handlers.rules.telling import LEARNER, compose
from store.models import (
    AuditEvent,
    CatalogItem,
    EndpointKind,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    Group,
    GroupKind,
    GroupSource,
    OutboxMessage,
    Standing,
    User,
    UserStatus,
    UserType,
    WebhookEndpoint,
    utcnow,
)
from tests.support import factories
from tests.support.command_world import BOSS, Acme, error, make_acme

MIA = "mia@example.com"  # manages rob and rae
ANN = "ann@example.com"  # a learner


@dataclass
class Team:
    acme: Acme
    ids: dict[str, int]


@pytest.fixture
async def team(session, sessions) -> Team:
    """Acme with a manager (Mia) and her reports (Rob, Rae), a prospect, a deactivated person,
    a webhook endpoint listening to every enrolment event, and the group Sales."""
    acme = await make_acme(session, sessions)
    org = acme.org
    names = {
        MIA: ("Mia", "Moss", {}),
        "rob@example.com": ("Rob", "Reed", {}),
        "rae@example.com": ("Rae", "Rowe", {}),
        "pat@example.com": ("Pat", "Page", {"type": UserType.PROSPECT}),
        "dee@example.com": ("Dee", "Dunn", {"status": UserStatus.DEACTIVATED}),
    }
    for email, (first, last, extra) in names.items():
        acme.users[email] = await factories.user(
            session, org, email=email, first_name=first, last_name=last, **extra
        )
    for email, first, last in ((BOSS, "Bea", "Boss"), ("cat@example.com", "Cat", "Cole")):
        await session.execute(
            update(User).where(User.email == email).values(first_name=first, last_name=last)
        )
    mia = acme.users[MIA].id
    await session.execute(
        update(User)
        .where(User.email.in_(["rob@example.com", "rae@example.com"]))
        .values(manager_id=mia)
    )
    session.add(
        WebhookEndpoint(
            organisation_id=org.id,
            kind=EndpointKind.WEBHOOK,
            url="https://hooks.example/x",
            events=["enrolment.created", "enrolment.withdrawn"],
        )
    )
    sales = (
        await directory.named_groups(
            session, org.id, GroupKind.GROUP, ["Sales"], create=GroupSource.MANUAL
        )
    )["sales"]
    group = await session.get(Group, sales)
    members = [acme.users[e].id for e in ("rob@example.com", "rae@example.com", "cat@example.com")]
    await directory.add_members(
        session, group, [*members, acme.users["dee@example.com"].id], directory.Origin("manual")
    )
    await session.commit()
    return Team(acme, {e: u.id for e, u in acme.users.items()})


async def _rows(t: Team) -> dict[tuple[str, str], tuple]:
    """(email, slug) -> (status, source, required, reason, due_at, enrolled_by_user_id)."""
    await t.acme.session.commit()
    async with t.acme.sessions() as s:
        rows = await s.execute(
            select(User.email, CatalogItem.slug, Enrolment)
            .join(User, User.id == Enrolment.user_id)
            .join(CatalogItem, CatalogItem.id == Enrolment.item_id)
        )
        return {
            (email, slug): (
                e.status,
                e.source,
                e.required,
                e.reason,
                e.due_at,
                e.enrolled_by_user_id,
            )
            for email, slug, e in rows
        }


async def _outbox(t: Team, kind: str) -> list[OutboxMessage]:
    async with t.acme.sessions() as s:
        q = select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        return list((await s.execute(q)).scalars())


async def _messages(t: Team) -> dict[str, list[Batch]]:
    """Deliver the outbox to recording channels: the batches each destination received."""
    await t.acme.session.commit()
    got: dict[str, list[Batch]] = {}

    async def keep(batch: Batch) -> SendOutcome:
        got.setdefault(batch.destination, []).append(batch)
        return SendOutcome.sent()

    channels = {name: Channel(keep) for name in ("slack", "teams", "email", "webhook")}
    await Delivery(t.acme.sessions, channels, min_gap=0).run_once()
    return {d: [b for b in batches if b.kind == LEARNER] for d, batches in got.items()}


async def _enrolled_before(t: Team, email: str, item, *, completed: bool = False) -> None:
    s = t.acme.session
    user = await s.get(User, t.ids[email])
    outcome = await enrol(
        s, organisation=t.acme.org, user=user, item=item, source=EnrolmentSource.LINK, by="test"
    )
    assert outcome is Outcome.ENROLLED
    if completed:
        await s.execute(
            update(Enrolment)
            .where(Enrolment.user_id == user.id, Enrolment.item_id == item.id)
            .values(status=EnrolmentStatus.COMPLETED, completed_at=utcnow())
        )
    await s.commit()


async def test_an_admin_enrols_people_and_a_group_in_several_items(team):
    t, acme = team, team.acme
    await _enrolled_before(t, "cat@example.com", acme.safety)
    await _enrolled_before(t, "rob@example.com", acme.gdpr, completed=True)
    hooks_before = len(await _outbox(t, "webhook"))
    reply = await run(
        await acme.ctx(BOSS),
        "enrol add ann@example.com pat@example.com nobody@example.com --group Sales "
        'safety-101 gdpr-basics --due-within 30 --reason "New policy"',
    )
    assert isinstance(reply, Notice) and reply.tone is Tone.SUCCESS, reply
    assert reply.text.startswith("Enrolled 4 people (6 new enrolments, required, due ")
    assert "because “New policy”" in reply.text
    assert reply.lines == (
        "Safety 101 (`safety-101`): enrolled 3 (Ann Lee, Rob Reed, Rae Rowe); "
        "already enrolled 1 (Cat Cole)",
        "GDPR basics (`gdpr-basics`): enrolled 3 (Cat Cole, Ann Lee, Rae Rowe); "
        "completed already 1 (Rob Reed)",
        "Not found 1 (no training account): nobody@example.com",
        "Deactivated, not enrolled: 1 (Dee Dunn)",
        "Not allowed, prospects (they enrol through their token): 1 (Pat Page)",
    )
    rows = await _rows(t)
    due = midnight(utcnow().date() + timedelta(days=30))
    boss = t.ids[BOSS]
    placed = (EnrolmentStatus.ENROLLED, EnrolmentSource.MANUAL, True, "New policy", due, boss)
    for email in ("ann@example.com", "rob@example.com", "rae@example.com"):
        assert rows[(email, "safety-101")] == placed
    for email in ("ann@example.com", "cat@example.com", "rae@example.com"):
        assert rows[(email, "gdpr-basics")] == placed
    assert rows[("cat@example.com", "safety-101")][1] is EnrolmentSource.LINK  # left as it was
    assert rows[("rob@example.com", "gdpr-basics")][0] is EnrolmentStatus.COMPLETED
    assert not any(email in ("pat@example.com", "dee@example.com") for email, _ in rows)
    # enrolment.created for each new enrolment, in the change's transaction
    assert len(await _outbox(t, "webhook")) - hooks_before == 6
    # one message per person, naming who enrolled them
    received = await _messages(t)
    people = {d: b for d, b in received.items() if b}
    assert sorted(people) == sorted(
        [
            "slack:T1:UANN",
            "slack:T1:UCAT",
            "email:rob@example.com",
            "email:rae@example.com",
        ]
    )
    assert all(len(batches) == 1 for batches in people.values())
    ann = compose(people["slack:T1:UANN"][0].payloads, people["slack:T1:UANN"][0].total_due)
    assert ann.heading() == "Bea Boss enrolled you in 2 items."
    assert "enrolled by Bea Boss" in "".join(s.text for s in ann.items[0].details())
    cat = compose(people["slack:T1:UCAT"][0].payloads, 1)
    assert cat.heading() == "Bea Boss enrolled you in GDPR basics."


async def test_a_manager_enrols_only_their_own_reports(team):
    t, acme = team, team.acme
    ctx = await acme.ctx(MIA)
    reply = await run(ctx, "enrol add rob@example.com cat@example.com safety-101")
    assert reply.lines == (
        "Safety 101 (`safety-101`): enrolled 1 (Rob Reed)",
        "Not allowed, not your direct reports: 1 (Cat Cole)",
    )
    reply = await run(await acme.ctx(MIA), "enrol add --group Sales gdpr-basics --recommended")
    assert reply.text.startswith("Enrolled 2 people (2 new enrolments, recommended)")
    assert "Not allowed, not your direct reports: 1 (Cat Cole)" in reply.lines
    rows = await _rows(t)
    assert sorted(k for k in rows) == [
        ("rae@example.com", "gdpr-basics"),
        ("rob@example.com", "gdpr-basics"),
        ("rob@example.com", "safety-101"),
    ]
    assert rows[("rob@example.com", "gdpr-basics")][2] is False
    before = await _rows(t)
    for line in ("enrol withdraw cat@example.com safety-101", "enrol list cat@example.com"):
        text = error(await run(await acme.ctx(MIA), line))
        assert text.startswith("Cat Cole isn't one of your direct reports")
    assert await _rows(t) == before


async def test_everyone_else_is_refused_and_nothing_changes(team):
    t, acme = team, team.acme
    before = await _rows(t)
    for line in (
        "enrol add rob@example.com safety-101",
        "enrol withdraw rob@example.com x",
        "team",
    ):
        text = error(await run(await acme.ctx(ANN), line))
        assert text.startswith("Only enrolment admins and managers (people with direct reports")
        assert text.endswith("nothing was changed.")
    text = error(await run(await acme.ctx(ANN), "enrol list rob@example.com"))
    assert "`/enrol enrol list me` shows yours" in text
    assert await _rows(t) == before
    async with acme.sessions() as s:
        refused = await s.execute(
            select(AuditEvent.action).where(AuditEvent.action == "command.refused")
        )
        assert len(refused.all()) == 3
    mine = await run(await acme.ctx(ANN), "enrol list me")
    assert mine == Notice("You have no enrolments.", heading="Enrolments")


async def test_withdraw_keeps_history_and_tells_the_learner(team):
    t, acme = team, team.acme
    await run(await acme.ctx(MIA), "enrol add rob@example.com safety-101 gdpr-basics")
    await _messages(t)  # the enrolment's message goes first
    reply = await run(
        await acme.ctx(MIA), 'enrol withdraw rob@example.com safety-101 --reason "Changed role"'
    )
    assert reply == Notice(
        "Withdrew Rob Reed from Safety 101 (`safety-101`). Their progress and history are "
        "kept, and I've told them.",
        Tone.SUCCESS,
    )
    rows = await _rows(t)
    assert rows[("rob@example.com", "safety-101")][:2] == (
        EnrolmentStatus.WITHDRAWN,
        EnrolmentSource.MANUAL,
    )
    hooks = [m.payload for m in await _outbox(t, "webhook")]
    assert sum(1 for p in hooks if "withdrawn" in str(p)) == 1
    received = await _messages(t)
    (batch,) = received["email:rob@example.com"]
    told = compose(batch.payloads, batch.total_due)
    assert told.heading() == "Mia Moss withdrew you from Safety 101."
    assert (
        "".join(s.text for s in told.items[0].details()) == "Withdrawn by Mia Moss · “Changed role”"
    )
    again = await run(await acme.ctx(MIA), "enrol withdraw rob@example.com safety-101")
    assert (
        again.text
        == "Rob Reed was already withdrawn from Safety 101 (`safety-101`); nothing changed."
    )
    await acme.session.execute(
        update(Enrolment)
        .where(Enrolment.item_id == acme.gdpr.id)
        .values(status=EnrolmentStatus.COMPLETED)
    )
    done = await run(await acme.ctx(BOSS), "enrol withdraw rob@example.com gdpr-basics")
    assert done.text == (
        "Rob Reed completed GDPR basics (`gdpr-basics`); a completion stands, so nothing was "
        "withdrawn."
    )
    async with acme.sessions() as s:
        audit = await s.execute(
            select(AuditEvent.detail).where(AuditEvent.action == "enrol.withdrawn")
        )
        assert [d["reason"] for (d,) in audit] == ["Changed role"]


async def _due(t: Team, email: str, item, days: int | None, status=EnrolmentStatus.ENROLLED):
    s = t.acme.session
    due = midnight(utcnow().date() + timedelta(days=days)) if days is not None else None
    await s.execute(
        update(Enrolment)
        .where(Enrolment.user_id == t.ids[email], Enrolment.item_id == item.id)
        .values(due_at=due, status=status)
    )
    await s.commit()


async def test_list_and_team_put_overdue_first_then_due_soon(team):
    t, acme = team, team.acme
    await run(
        await acme.ctx(BOSS),
        "enrol add rob@example.com rae@example.com safety-101 gdpr-basics onboarding",
    )
    await _due(t, "rob@example.com", acme.onboarding, 90)
    await _due(t, "rob@example.com", acme.safety, 5)
    await _due(t, "rob@example.com", acme.gdpr, -2)
    await _due(t, "rae@example.com", acme.safety, -1)
    await _due(t, "rae@example.com", acme.gdpr, None, EnrolmentStatus.COMPLETED)
    listed = await run(await acme.ctx(MIA), "enrol list rob@example.com")
    assert listed.text == "Rob Reed's enrolments (3):"
    assert [line.split(":")[0] for line in listed.lines] == [
        "GDPR basics (`gdpr-basics`)",
        "Safety 101 (`safety-101`)",
        "Onboarding (`onboarding`)",
    ]
    assert "⚠ overdue" in listed.lines[0] and "by hand by Bea Boss" in listed.lines[0]
    assert "overdue" not in listed.lines[1]
    shown = await run(await acme.ctx(MIA), "team")
    assert shown.text == "Your 2 direct reports and their enrolments, overdue first, then due soon:"
    assert [line.split(" · ")[0] for line in shown.lines] == [
        "Rob Reed: GDPR basics (`gdpr-basics`)",
        "Rae Rowe: Safety 101 (`safety-101`)",
        "Rob Reed: Safety 101 (`safety-101`)",
        "Rob Reed: Onboarding (`onboarding`)",  # the rest: by due date, then by name
        "Rae Rowe: GDPR basics (`gdpr-basics`)",
        "Rae Rowe: Onboarding (`onboarding`)",
    ]
    only = await run(await acme.ctx(MIA), "team onboarding")
    assert len(only.lines) == 2
    boss = await run(await acme.ctx(BOSS), "team")
    assert boss.text.startswith("No one reports to you in the directory")


async def test_help_is_truthful_per_caller(team):
    acme = team.acme
    manager = await run(await acme.ctx(MIA), "help")
    forms = [line.split(":")[0] for line in manager.lines]
    assert any(f.startswith("`/enrol enrol add PEOPLE... ITEMS...") for f in forms)
    assert any(f.startswith("`/enrol team") for f in forms)
    assert not any("link create" in f for f in forms)
    admin = await run(await acme.ctx(BOSS), "help")
    assert any("enrol withdraw" in line for line in admin.lines)
    learner = await run(await acme.ctx(ANN), "help")
    assert "enrol add" not in str(learner)


async def test_outsiders_are_not_allowed_and_long_lists_are_capped(team):
    t, acme = team, team.acme
    acme.profiles["UGUEST1"] = Profile(email="gus@partner.test", standing=Standing.GUEST)
    org, s = acme.org, acme.session
    many = [
        await factories.user(
            s, org, email=f"p{n:02}@example.com", first_name="P", last_name=f"{n:02}"
        )
        for n in range(12)
    ]
    big = (
        await directory.named_groups(s, org.id, GroupKind.TEAM, ["Big"], create=GroupSource.MANUAL)
    )["big"]
    await directory.add_members(
        s, await s.get(Group, big), [u.id for u in many], directory.Origin("manual")
    )
    await s.commit()
    reply = await run(await acme.ctx(BOSS), "enrol add <@UGUEST1> --group Big onboarding")
    assert reply.lines == (
        "Onboarding (`onboarding`): enrolled 12 (P 00, P 01, P 02, P 03, P 04, P 05, P 06, P 07, "
        "P 08, P 09 and 2 more)",
        "Not allowed, guests or people from other organisations 1: gus@partner.test",
    )
    assert len([k for k in await _rows(t) if k[1] == "onboarding"]) == 12
