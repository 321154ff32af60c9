"""Automatic enrolment's engine, whom it enrols: who each criterion matches, one enrolment however
many rules, --existing and --new-only, and a click in a period already completed or withdrawn."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select, update

from handlers.enrol import enrol
from handlers.rules import saved
from handlers.rules.criteria import Criteria
from handlers.rules.follow import Follower
from store.models import (
    AuditEvent,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    GroupKind,
    User,
    UserStatus,
    UserType,
)
from tests.support.rules_world import factories_item, rules_world


async def test_each_criterion_matches_whom_it_says(sessions):
    w = await rules_world(sessions, ("ann", "bob", "cat", "dan", "eve", "fay", "gus"))
    follower = Follower(sessions)
    await w.set("ann", department="Sales", language="en-GB")
    await w.set("bob", department="sales", language="fr")
    await w.set("cat", manager_id=w.people["ann"], hire_date=date(2026, 3, 1))
    await w.set("dan", manager_id=w.people["cat"], hire_date=date(2025, 1, 1))
    mentors = await w.group("Mentors")
    await w.join(mentors, "eve", "fay")
    async with sessions() as s, s.begin():
        await s.execute(
            update(User).where(User.id == w.people["fay"]).values(type=UserType.PROSPECT)
        )
        await s.execute(
            update(User).where(User.id == w.people["gus"]).values(status=UserStatus.DEACTIVATED)
        )
    from handlers.rules.criteria import matching

    async def who(**criteria):
        async with sessions() as s:
            found = await s.execute(matching(Criteria(w.org.id, **criteria)))
            back = {v: k for k, v in w.people.items()}
            return sorted(back[i] for i in found.scalars())

    assert await who(everyone=True) == ["ann", "bob", "cat", "dan", "eve"]
    assert await who(everyone=True, include_prospects=True) == [
        "ann",
        "bob",
        "cat",
        "dan",
        "eve",
        "fay",
    ]
    assert await who(where=(("department", "SALES"),)) == ["ann", "bob"]
    assert await who(where=(("department", "Sales"), ("language", "en-GB"))) == ["ann"]
    assert await who(where=(("language", "en-GB"), ("language", "fr"))) == ["ann", "bob"]
    assert await who(group_ids=(mentors,)) == ["eve"]  # fay is a prospect
    assert await who(manager_id=w.people["ann"]) == ["cat"]
    assert await who(manager_id=w.people["ann"], all_reports=True) == ["cat", "dan"]
    assert await who(hired_after=date(2026, 1, 1)) == ["cat"]
    assert await who(added_after=date.today() - timedelta(days=1)) == [
        "ann",
        "bob",
        "cat",
        "dan",
        "eve",
    ]
    assert await who(added_after=date.today()) == []
    assert await who() == []  # a rule must say who
    assert follower  # the follower is exercised below


async def test_several_rules_on_one_item_enrol_a_person_once(sessions):
    w = await rules_world(sessions)
    follower = Follower(sessions)
    await w.set("ann", department="Sales")
    await w.rule(follower, everyone=True)
    await w.rule(follower, where=(("department", "Sales"),))
    async with sessions() as s:
        rows = await s.execute(select(Enrolment.user_id, func.count()).group_by(Enrolment.user_id))
        assert {u: n for u, n in rows} == {i: 1 for i in w.people.values()}
        audits = await s.execute(select(func.count()).where(AuditEvent.action == "enrol.enrolled"))
        assert audits.scalar_one() == 5


async def test_existing_enrols_now_and_new_only_waits_for_people_who_come_to_match(sessions):
    w = await rules_world(sessions)
    follower = Follower(sessions)
    sales = await w.group("Sales", GroupKind.DEPARTMENT)
    await w.join(sales, "ann", "bob")
    await follower.step()
    await w.rule(follower, terms=saved.Terms(new_only=True), group_ids=(sales,))
    assert await w.enrolled() == []
    await w.join(sales, "cat")
    await follower.step()
    assert await w.enrolled() == sorted(w.ids("cat"))
    # Someone who matched when it was saved, left, and came back has come to match anew.
    await w.join(sales, "ann", leave=True)
    await follower.step()
    await w.join(sales, "ann")
    await follower.step()
    assert await w.enrolled() == sorted(w.ids("ann", "cat"))
    other = await factories_item(w, "induction")
    async with sessions() as s, s.begin():
        item = await s.get(type(w.item), other)
        await saved.create_rule(
            s,
            item,
            Criteria(w.org.id, group_ids=(sales,)),
            saved.Terms(),
            created_by="t",
            created_by_user_id=None,
        )
    await follower.step()
    async with sessions() as s:
        rows = await s.execute(select(Enrolment.user_id).where(Enrolment.item_id == other))
        assert sorted(rows.scalars()) == sorted(w.ids("ann", "bob", "cat"))


async def test_a_click_counts_for_the_current_period_and_a_withdrawn_enrolment_comes_back(
    sessions,
):
    w = await rules_world(sessions)
    async with sessions() as s, s.begin():
        ann = await s.get(User, w.people["ann"])
        org, item = await s.get(type(w.org), w.org.id), await s.get(type(w.item), w.item.id)
        s.add(
            Enrolment(
                user_id=ann.id,
                item_id=item.id,
                period=20261001,
                status=EnrolmentStatus.COMPLETED,
                source=EnrolmentSource.RULE,
            )
        )
        await s.flush()
        # Clicking a link for a period already completed does not reset the completion.
        from handlers.enrol import Outcome

        assert (
            await enrol(
                s, organisation=org, user=ann, item=item, source=EnrolmentSource.MANUAL, by="t"
            )
        ) is Outcome.ALREADY_COMPLETED
        bob = await s.get(User, w.people["bob"])
        s.add(
            Enrolment(
                user_id=bob.id,
                item_id=item.id,
                status=EnrolmentStatus.WITHDRAWN,
                source=EnrolmentSource.RULE,
                withdrawn_at=datetime.now(UTC),
            )
        )
        await s.flush()
        assert (
            await enrol(
                s, organisation=org, user=bob, item=item, source=EnrolmentSource.MANUAL, by="t"
            )
        ) is Outcome.ENROLLED
    assert await w.enrolled() == [w.people["bob"]]
