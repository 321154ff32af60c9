"""Automatic enrolment's engine: who each criterion matches, one enrolment however many rules,
--existing and --new-only, the follower acting on directory changes within a second and resuming
from its cursor, leaving with and without --withdraw-on-leave, syncs that failed withdrawing
nothing, and the reconcile changing nothing the second time."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, select, update

from handlers import directory
from handlers.directory import GroupRecord, Origin, PersonRecord, Snapshot, SourceKey
from handlers.enrol import enrol
from handlers.rules import saved
from handlers.rules.criteria import Criteria
from handlers.rules.follow import Follower
from handlers.rules.reconcile import reconcile
from store.models import (
    AuditEvent,
    ChangeKind,
    DirectoryChange,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    GroupKind,
    GroupSource,
    Membership,
    StreamCursor,
    User,
    UserStatus,
    UserType,
    utcnow,
)
from tests.support import factories

BY_HAND = Origin("manual", "slack:T1:U1")
SCIM = Origin("scim")
KEY = SourceKey("scim", "1")


class World:
    def __init__(self, sessions, org, item, people):
        self.sessions, self.org, self.item, self.people = sessions, org, item, people

    def ids(self, *names):
        return {self.people[n] for n in names}

    async def rule(self, follower=None, *, terms=None, **criteria):
        async with self.sessions() as s, s.begin():
            item = await s.get(type(self.item), self.item.id)
            rule = await saved.create_rule(
                s,
                item,
                Criteria(self.org.id, **criteria),
                terms or saved.Terms(),
                created_by="test",
                created_by_user_id=None,
            )
        if follower is not None:
            await follower.step()
        return rule.id

    async def enrolled(self, status=EnrolmentStatus.ENROLLED):
        async with self.sessions() as s:
            rows = await s.execute(
                select(Enrolment.user_id).where(
                    Enrolment.item_id == self.item.id, Enrolment.status == status
                )
            )
            return sorted(rows.scalars())

    async def group(self, name, kind=GroupKind.GROUP):
        async with self.sessions() as s, s.begin():
            ids = await directory.named_groups(
                s, self.org.id, kind, [name], create=GroupSource.MANUAL
            )
            return ids[name.lower()]

    async def join(self, group_id, *names, leave=False):
        async with self.sessions() as s, s.begin():
            from store.models import Group

            group = await s.get(Group, group_id)
            change = directory.remove_members if leave else directory.add_members
            await change(s, group, sorted(self.ids(*names)), BY_HAND)

    async def set(self, name, **values):
        async with self.sessions() as s, s.begin():
            await directory.apply_attributes(
                s, self.org.id, {self.people[name]: values}, BY_HAND, utcnow()
            )


async def _world(sessions, names=("ann", "bob", "cat", "dan", "eve")):
    async with sessions() as s, s.begin():
        org = await factories.organisation(s)
        item = await factories.item(s, org, "compliance-2027")
        people = {}
        for n in names:
            people[n] = (await factories.user(s, org, f"{n}@example.com", first_name=n)).id
    return World(sessions, org, item, people)


async def test_each_criterion_matches_whom_it_says(sessions):
    w = await _world(sessions, ("ann", "bob", "cat", "dan", "eve", "fay", "gus"))
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
    w = await _world(sessions)
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
    w = await _world(sessions)
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


async def factories_item(w, slug):
    async with w.sessions() as s, s.begin():
        org = await s.get(type(w.org), w.org.id)
        return (await factories.item(s, org, slug)).id


async def test_a_membership_change_enrols_within_a_second_through_the_follower(sessions):
    w = await _world(sessions)
    follower = Follower(sessions)
    mentors = await w.group("Mentors")
    await w.rule(follower, group_ids=(mentors,), terms=saved.Terms(reason="Mentors must"))
    task = asyncio.create_task(follower.follow(poll=5.0))  # only the wakeup can be this quick
    try:
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await w.join(mentors, "bob")
        while not await w.enrolled():
            assert time.monotonic() - started < 1.0, "not enrolled within a second"
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert await w.enrolled() == sorted(w.ids("bob"))
    async with sessions() as s:
        row = (await s.execute(select(Enrolment))).scalar_one()
        assert (row.source, row.required, row.reason, row.period) == (
            EnrolmentSource.RULE,
            True,
            "Mentors must",
            0,
        )


async def test_leaving_keeps_enrolments_unless_the_rule_withdraws_unstarted_ones(sessions):
    w = await _world(sessions)
    follower = Follower(sessions)
    keep, drop = await w.group("Keepers"), await w.group("Droppers")
    await w.join(keep, "ann")
    await w.join(drop, "bob", "cat")
    other = await factories_item(w, "induction")
    await w.rule(follower, group_ids=(keep,))
    await w.rule(follower, group_ids=(drop,), terms=saved.Terms(withdraw_on_leave=True))
    async with sessions() as s, s.begin():  # cat has started: progress stays
        await s.execute(
            update(Enrolment)
            .where(Enrolment.user_id == w.people["cat"])
            .values(started_at=utcnow())
        )
    assert other
    await w.join(keep, "ann", leave=True)
    await w.join(drop, "bob", "cat", leave=True)
    await follower.step()
    assert await w.enrolled() == sorted(w.ids("ann", "cat"))
    assert await w.enrolled(EnrolmentStatus.WITHDRAWN) == sorted(w.ids("bob"))
    async with sessions() as s:
        audit = (
            await s.execute(select(AuditEvent).where(AuditEvent.action == "enrol.withdrawn"))
        ).scalar_one()
        assert (audit.actor_user_id, audit.detail["reason"]) == (w.people["bob"], "left")
    # Coming back enrols them again in the same period.
    await w.join(drop, "bob")
    await follower.step()
    assert await w.enrolled() == sorted(w.ids("ann", "bob", "cat"))


async def test_a_failed_or_partial_directory_sync_withdraws_nothing(sessions):
    async with sessions() as s, s.begin():
        org = await factories.organisation(s)
        item = await factories.item(s, org, "security")
        records = [PersonRecord(f"s{i}", f"p{i}@example.com") for i in range(10)]
        await directory.upsert_people(s, org.id, records, SCIM, key=KEY)
        await directory.apply_snapshot(
            s,
            org.id,
            Snapshot(
                GroupSource.SCIM,
                KEY,
                True,
                records,
                [GroupRecord("g1", "Engineers", [r.subject for r in records])],
            ),
        )
        (group,) = await directory.find_group(s, org.id, "Engineers")
    w = World(sessions, org, item, {})
    follower = Follower(sessions)
    await w.rule(follower, group_ids=(group.id,), terms=saved.Terms(withdraw_on_leave=True))
    assert len(await w.enrolled()) == 10
    async with sessions() as s, s.begin():  # half the pages failed: only additions apply
        result = await directory.apply_snapshot(
            s,
            org.id,
            Snapshot(
                GroupSource.SCIM, KEY, False, records[:5], [GroupRecord("g1", "Engineers", ["s0"])]
            ),
        )
        assert result.outcome is directory.Outcome.PARTIAL
    await follower.step()
    assert len(await w.enrolled()) == 10
    assert await w.enrolled(EnrolmentStatus.WITHDRAWN) == []


async def test_a_restart_resumes_from_the_cursor(sessions):
    w = await _world(sessions)
    first = Follower(sessions)
    mentors = await w.group("Mentors")
    await w.rule(first, group_ids=(mentors,))
    await w.join(mentors, "ann")
    await first.step()
    async with sessions() as s:
        position = (await s.execute(select(StreamCursor.position))).scalar_one()
        assert position > 0
    # The process stops; more changes come; a new process takes up where the cursor says.
    await w.join(mentors, "bob")
    async with sessions() as s, s.begin():  # a change the rules enrolled is not done twice
        await s.execute(update(Enrolment).values(status=EnrolmentStatus.COMPLETED))
    second = Follower(sessions)
    did = await second.step()
    assert did is not None and did.counts == (1, 0)
    assert await w.enrolled() == sorted(w.ids("bob"))
    assert await second.step() is None


async def test_reconcile_repairs_what_was_missed_and_changes_nothing_the_second_time(sessions):
    w = await _world(sessions)
    await w.set("ann", department="Sales")
    await w.set("bob", department="Sales")
    rule_id = await w.rule(where=(("department", "Sales"),))  # the follower never ran
    runs = await reconcile(sessions)
    assert [r.describe() for r in runs] == [
        f"rule {rule_id} (compliance-2027): 2 enrolled, 0 withdrawn"
    ]
    assert [r.describe() for r in await reconcile(sessions)] == [
        f"rule {rule_id} (compliance-2027): 0 enrolled, 0 withdrawn"
    ]


async def test_a_click_counts_for_the_current_period_and_a_withdrawn_enrolment_comes_back(
    sessions,
):
    w = await _world(sessions)
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


async def test_a_change_committed_after_a_later_one_is_still_followed(sessions):
    """Ids are given out before their transactions commit: a change may appear below ids the
    follower has done. It looks into such gaps again, and the cursor waits below them."""
    w = await _world(sessions)
    follower = Follower(sessions)
    mentors = await w.group("Mentors")
    await w.rule(follower, group_ids=(mentors,))
    await w.join(mentors, "ann")
    await follower.step()
    async with sessions() as s:
        last = (await s.execute(select(func.max(DirectoryChange.id)))).scalar_one()
    late = last + 1  # the id a slow transaction took, committing only after the next one
    async with sessions() as s, s.begin():
        await s.execute(
            insert(DirectoryChange).values(
                id=last + 2,
                organisation_id=w.org.id,
                user_id=w.people["cat"],
                kind=ChangeKind.ATTRIBUTE,
                field="email",
                source="manual",
                at=utcnow(),
            )
        )
    await follower.step()
    assert follower.position == last  # below the gap
    async with sessions() as s, s.begin():
        await s.execute(
            insert(Membership).values(
                group_id=mentors, user_id=w.people["bob"], started_at=utcnow(), source="manual"
            )
        )
        await s.execute(
            insert(DirectoryChange).values(
                id=late,
                organisation_id=w.org.id,
                user_id=w.people["bob"],
                kind=ChangeKind.JOINED,
                group_id=mentors,
                source="manual",
                at=utcnow(),
            )
        )
    await follower.step()
    assert await w.enrolled() == sorted(w.ids("ann", "bob"))
    assert follower.position == last + 2
