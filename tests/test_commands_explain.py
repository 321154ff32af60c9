"""why and drift, as admins and learners type them: which rule, link, token or person
enrolled someone, when, through which membership with its source and day; drift's two lists
with their reasons."""

from __future__ import annotations

from sqlalchemy import update

from handlers import directory
from handlers.commands import run
from handlers.directory import Origin
from handlers.enrol import enrol
from handlers.rules.follow import Follower
from handlers.rules.wording import day
from store.models import (
    EnrolmentRule,
    EnrolmentSource,
    RegistrationToken,
    User,
    UserStatus,
    utcnow,
)
from tests.support.command_world import BOSS, error

TODAY = day(utcnow().date())


SCIM = Origin("scim")


async def _rule_on_sales(acme, *emails, origin=SCIM):
    """Sales (department) joined from SCIM by these people, and a rule on it."""
    ids = {acme.users[e].id: {"department": "Sales"} for e in emails}
    await directory.apply_attributes(acme.session, acme.org.id, ids, origin, utcnow())
    ctx = await acme.ctx(BOSS)
    reply = await run(
        ctx, 'rule create safety-101 --group department:Sales --due-within 30 --reason "Site"'
    )
    assert "saved" in reply.text, reply
    await acme.session.commit()
    await Follower(acme.sessions).step()
    return ctx


async def test_why_names_the_rule_and_the_membership_with_its_source_and_day(acme):
    ctx = await _rule_on_sales(acme, "ann@example.com")
    reply = await run(ctx, "why ann@example.com safety-101")
    assert reply.text == "Ann Lee's enrolment in Safety 101:"
    (line,) = reply.lines
    assert line.startswith(
        f"Enrolled on {TODAY} by rule 1 (everyone in Sales (department), required, due "
    ), line
    assert line.endswith(
        f"because they joined Sales (department), from Entra ID (SCIM), on {TODAY}."
    ) or line.endswith(f"because their department became Sales, from Entra ID (SCIM), on {TODAY}.")


async def test_why_item_is_about_oneself_and_others_are_for_admins(acme):
    await _rule_on_sales(acme, "ann@example.com", "cat@example.com")
    ann = await acme.ctx("ann@example.com")
    mine = await run(ann, "why safety-101")
    assert mine.text == "Your enrolment in Safety 101:"
    assert "by rule 1" in mine.lines[0]
    refused = await run(ann, "why cat@example.com safety-101")
    assert error(refused) == (
        "Only enrolment admins can ask why someone else was enrolled; `/enrol why safety-101` "
        "tells you about your own enrolment."
    )
    never = await run(ann, f"why {acme.gdpr.slug}")
    assert never.text == f"You have never been enrolled in {acme.gdpr.title}."


async def test_why_for_a_link_a_token_and_by_hand(acme):
    link = await acme.default_link(acme.safety)
    await acme.enrol_through(link, "cat@example.com")
    await enrol(
        acme.session, organisation=acme.org, user=acme.users["ann@example.com"],
        item=acme.safety, source=EnrolmentSource.MANUAL, by=str((await acme.ctx(BOSS)).account),
    )  # fmt: skip
    token = RegistrationToken(
        organisation_id=acme.org.id, item_id=acme.gdpr.id, nickname="Partners"
    )
    acme.session.add(token)
    await acme.session.flush()
    await enrol(
        acme.session, organisation=acme.org, user=acme.users["sam@example.com"],
        item=acme.gdpr, source=EnrolmentSource.REGISTRATION, by="registration",
        registration_token_id=token.id,
    )  # fmt: skip
    boss = await acme.ctx(BOSS)
    cat = await run(boss, "why cat@example.com safety-101")
    assert cat.lines == (f"Enrolled on {TODAY} by themselves, through link {link.id}.",)
    ann = await run(boss, "why ann@example.com safety-101")
    assert ann.lines[0].startswith(f"Enrolled on {TODAY} by hand, by "), ann.lines
    sam = await run(boss, f"why sam@example.com {acme.gdpr.slug}")
    assert sam.lines == (f"Enrolled on {TODAY} by registering with token {token.id} “Partners”.",)


async def test_drift_lists_who_is_missing_and_who_is_extra_with_reasons(acme):
    await _rule_on_sales(acme, "ann@example.com", "cat@example.com")
    boss = await acme.ctx(BOSS)
    assert (await run(boss, "drift safety-101")).text == "Safety 101 matches its rules exactly."
    link = await acme.default_link(acme.safety)
    await acme.enrol_through(link, "sue@example.com")
    await acme.session.execute(
        update(User).where(User.email == "cat@example.com").values(status=UserStatus.DEACTIVATED)
    )
    await run(boss, "rule pause 1")
    await directory.apply_attributes(
        acme.session, acme.org.id, {acme.users["sam@example.com"].id: {"department": "Sales"}},
        Origin("scim"), utcnow(),
    )  # fmt: skip
    reply = await run(boss, "drift safety-101")
    assert reply.text == (
        "Safety 101: 1 expected but not enrolled, 3 enrolled without an active rule."
    )
    assert reply.lines == (
        "Expected by the rules but not enrolled: 1",
        "  Ann Lee (sam@example.com): paused rule 1",
        "Enrolled without an active rule: 3",
        "  Ann Lee (ann@example.com): enrolled by rule 1, now paused",
        "  Ann Lee (cat@example.com): deactivated (their enrolment stays)",
        f"  Ann Lee (sue@example.com): enrolled themselves by link {link.id}",
    )
    await acme.session.execute(update(EnrolmentRule).values(paused_at=None))
    reply = await run(boss, "drift safety-101")
    assert "  Ann Lee (sam@example.com): not enrolled yet" in reply.lines[1]
    assert not (await run(await acme.ctx("ann@example.com"), "drift safety-101")).lines


async def test_why_says_when_a_rule_withdrew_someone_who_left(acme):
    ctx = await _rule_on_sales(acme, "ann@example.com")
    await acme.session.execute(update(EnrolmentRule).values(withdraw_on_leave=True))
    await directory.apply_attributes(
        acme.session, acme.org.id, {acme.users["ann@example.com"].id: {"department": None}},
        SCIM, utcnow(),
    )  # fmt: skip
    await acme.session.commit()
    await Follower(acme.sessions).step()
    (line,) = (await run(ctx, "why ann@example.com safety-101")).lines
    assert line.endswith(f"Withdrawn on {TODAY}: they stopped matching before starting it."), line
    drift = await run(ctx, "drift safety-101")
    assert drift.text == "Safety 101 matches its rules exactly."
