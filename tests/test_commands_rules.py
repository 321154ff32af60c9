"""rule create | preview | list | show | pause | resume | delete, as admins type them."""

from __future__ import annotations

from sqlalchemy import select

from handlers.commands import run
from handlers.enrol import enrol
from handlers.replies import Notice, Tone
from handlers.rules.follow import Follower
from store.models import Enrolment, EnrolmentRule, EnrolmentSource, Recur
from tests.support.command_world import BOSS, error


async def _sales(acme, *emails):
    ctx = await acme.ctx(BOSS)
    await run(ctx, "group create Sales --kind department")
    await run(ctx, "group add Sales " + " ".join(emails))
    await acme.session.commit()
    return ctx


async def _enrolled(acme, item):
    await acme.session.commit()
    async with acme.sessions() as s:
        rows = await s.execute(
            select(Enrolment.user_id, Enrolment.source).where(Enrolment.item_id == item.id)
        )
        back = {u.id: e for e, u in acme.users.items()}
        return sorted((back[u], source.value) for u, source in rows)


async def test_preview_counts_and_names_then_create_enrols_through_the_follower(acme):
    ctx = await _sales(acme, "ann@example.com", "cat@example.com", "sue@example.com")
    await enrol(
        acme.session, organisation=acme.org, user=acme.users["ann@example.com"],
        item=acme.safety, source=EnrolmentSource.MANUAL, by="t",
    )  # fmt: skip
    reply = await run(ctx, "rule preview safety-101 --group department:Sales")
    assert reply.text == (
        "A rule for everyone in Sales (department) would enrol 2 people in Safety 101 now; "
        "1 person already enrolled, 0 completed."
    )
    assert reply.lines == ("Ann Lee (cat@example.com)", "Ann Lee (sue@example.com)")
    reply = await run(
        ctx,
        'rule create safety-101 --group Sales --due-within 30 --reason "Site rules" '
        "--withdraw-on-leave",
    )
    assert reply == Notice(
        "Rule 1 saved: Safety 101 for everyone in Sales (department), required, due within 30 "
        "days, withdrawn if they leave before starting, because “Site rules”. Enrolling 2 "
        "people now (1 person already enrolled, 0 completed); anyone who comes to match later "
        "is enrolled within a second.",
        Tone.SUCCESS,
    )
    await acme.session.commit()
    await Follower(acme.sessions).step()
    assert await _enrolled(acme, acme.safety) == [
        ("ann@example.com", "manual"),
        ("cat@example.com", "rule"),
        ("sue@example.com", "rule"),
    ]
    listed = await run(ctx, "rule list")
    assert listed.lines == (
        "1 · safety-101 · everyone in Sales (department) · required, due within 30 days, "
        "withdrawn if they leave before starting, because “Site rules” · active · 2 enrolments",
    )
    shown = await run(ctx, "rule show 1")
    assert shown.lines[:5] == (
        "Item: Safety 101 (safety-101)",
        "Who: everyone in Sales (department)",
        "Terms: required, due within 30 days, withdrawn if they leave before starting, "
        "because “Site rules”",
        "State: active",
        "Enrolled by it: 2",
    )


async def test_pause_resume_delete(acme):
    ctx = await _sales(acme, "ann@example.com")
    await run(ctx, "rule create gdpr-basics --group Sales --recommended")
    await acme.session.commit()
    follower = Follower(acme.sessions)
    await follower.step()
    assert (await run(ctx, "rule pause 1")).tone is Tone.SUCCESS
    assert (await run(ctx, "rule pause 1")).text == "Rule 1 is paused already; nothing changed."
    await run(ctx, "group add Sales cat@example.com")
    await acme.session.commit()
    await follower.step()
    assert await _enrolled(acme, acme.gdpr) == [("ann@example.com", "rule")]
    assert (await run(ctx, "rule resume 1")).tone is Tone.SUCCESS
    await acme.session.commit()
    await follower.step()
    assert await _enrolled(acme, acme.gdpr) == [
        ("ann@example.com", "rule"),
        ("cat@example.com", "rule"),
    ]
    assert (await run(ctx, "rule delete 1")).text.startswith("Rule 1 is deleted")
    assert error(await run(ctx, "rule show 1")) == (
        "There is no rule 1. `/enrol rule list` shows them."
    )
    await acme.session.commit()
    assert await _enrolled(acme, acme.gdpr) == [
        ("ann@example.com", "rule"),
        ("cat@example.com", "rule"),
    ]


async def test_new_only_enrols_no_one_now(acme):
    ctx = await _sales(acme, "ann@example.com")
    reply = await run(ctx, "rule create onboarding --group Sales --new-only")
    assert reply.text.endswith(
        "It enrols no one now (1 person matches already); people who come to match from now on "
        "are enrolled as they do."
    )
    await acme.session.commit()
    await Follower(acme.sessions).step()
    assert await _enrolled(acme, acme.onboarding) == []


async def test_recurrence_and_due_each_year_are_read_strictly(acme):
    ctx = await acme.ctx(BOSS)
    reply = await run(
        ctx,
        "rule create safety-101 --everyone --due-each-year 10-01 --first-due-within 30 "
        "--recur annual --enrol-days-before 60",
    )
    assert reply.tone is Tone.SUCCESS, reply
    assert "due each 1 October (first due within 30 days), every year, enrolled 60 days " in (
        reply.text
    )
    reply = await run(
        ctx, "rule create gdpr-basics --everyone --due-within 10 --recur every 3 months"
    )
    assert reply.tone is Tone.SUCCESS, reply
    await acme.session.commit()
    async with acme.sessions() as s:
        rules = (await s.execute(select(EnrolmentRule).order_by(EnrolmentRule.id))).scalars()
        assert [(r.recur, r.recur_every, r.due_month, r.due_day) for r in rules] == [
            (Recur.ANNUAL, None, 10, 1),
            (Recur.MONTHS, 3, None, None),
        ]


async def test_mistakes_get_a_sentence_and_change_nothing(acme):
    ctx = await acme.ctx(BOSS)
    cases = {
        "rule create": (
            "Tell me the item and who: `/enrol rule create ITEM --everyone | --group GROUP | "
            "--where FIELD=VALUE ...`. `/enrol help rule create` lists every option."
        ),
        "rule create safety-101 --required": (
            "Say who the rule is for: --everyone, --group GROUP, --where FIELD=VALUE, "
            "--manager PERSON, --hired-after DATE or --added-after DATE."
        ),
        "rule create safety-101 --everyone --hired-after 2026-02-30": (
            "`2026-02-30` isn't a date for --hired-after: write it as YYYY-MM-DD, e.g. 2027-03-31."
        ),
        "rule create safety-101 --everyone --due-each-year 02-30": (
            "`02-30` isn't a month and day for --due-each-year: write MM-DD, e.g. 10-01 for "
            "1 October."
        ),
        "rule create safety-101 --everyone --recur sometimes": (
            "`sometimes` isn't a recurrence: use --recur once, --recur annual, or --recur every "
            "N days / --recur every N months (e.g. --recur every 6 months)."
        ),
        "rule create safety-101 --everyone --due-within 0": (
            "--due-within needs a number of days from 1 to 3650, e.g. --due-within 30; `0` "
            "isn't one."
        ),
        "rule create safety-101 --where dept=Sales": (
            "`dept=Sales` isn't a condition: write --where FIELD=VALUE with FIELD one of "
            "company, department, team, function, language, e.g. --where department=Sales."
        ),
        "rule create safety-101 --group Nobody": (
            "There's no group called Nobody; `group list` shows them."
        ),
        "rule create safety-101 --everyone --required --recommended": (
            "Give one of --required or --recommended, not --required and --recommended."
        ),
        "rule create safety-101 --everyone --enrol-days-before 5": (
            "--enrol-days-before counts back from the due date: give --due-on DATE, "
            "--due-each-year MM-DD or --due-within DAYS too."
        ),
        "rule show r4": (
            "`r4` isn't a rule's number. `/enrol rule list` shows the rules, each line starting "
            "with its number."
        ),
    }
    for typed, sentence in cases.items():
        assert error(await run(ctx, typed)) == sentence, typed
    learner = await acme.ctx("ann@example.com")
    assert error(await run(learner, "rule create safety-101 --everyone")) == (
        "Only enrolment admins can manage automatic enrolment; nothing was changed."
    )
    await acme.session.commit()
    async with acme.sessions() as s:
        assert (await s.execute(select(EnrolmentRule))).first() is None
