"""Automatic enrolment's engine as the directory changes: the follower acting on directory changes
within a second and resuming from its cursor (gaps included), leaving with and without
--withdraw-on-leave, syncs that failed withdrawing nothing, and the reconcile changing nothing the
second time."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import func, insert, select, update

from handlers import directory
from handlers.directory import GroupRecord, Origin, PersonRecord, Snapshot, SourceKey
from handlers.rules import saved
from handlers.rules.follow import Follower
from handlers.rules.reconcile import reconcile
from store.models import (
    AuditEvent,
    ChangeKind,
    DirectoryChange,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    GroupSource,
    Membership,
    StreamCursor,
    utcnow,
)
from tests.support import factories
from tests.support.rules_world import World, factories_item, rules_world

SCIM = Origin("scim")
KEY = SourceKey("scim", "1")


async def test_a_membership_change_enrols_through_the_followers_wakeup(sessions):
    w = await rules_world(sessions)
    follower = Follower(sessions)
    mentors = await w.group("Mentors")
    await w.rule(follower, group_ids=(mentors,), terms=saved.Terms(reason="Mentors must"))
    # A poll an hour apart: an enrolment within the test's wait can only come from the wakeup.
    # How quickly it comes is bench.rules' figure, not a test's.
    task = asyncio.create_task(follower.follow(poll=3600.0))
    try:
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await w.join(mentors, "bob")
        while not await w.enrolled():
            assert time.monotonic() - started < 30, "the wakeup did not enrol them"
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
    w = await rules_world(sessions)
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
    w = await rules_world(sessions)
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
    w = await rules_world(sessions)
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


async def test_a_change_committed_after_a_later_one_is_still_followed(sessions):
    """Ids are given out before their transactions commit: a change may appear below ids the
    follower has done. It looks into such gaps again, and the cursor waits below them."""
    w = await rules_world(sessions)
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
