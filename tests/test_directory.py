"""handlers.directory: people's attributes and groups kept consistent, every change logged with
its source and time, memberships with history, full syncs held to the safety threshold."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from handlers import directory
from handlers.directory import GroupRecord, Origin, PersonRecord, Snapshot, SourceKey
from handlers.enrol import enrol
from store.models import (
    ChangeKind,
    DirectoryChange,
    Enrolment,
    EnrolmentSource,
    GroupKind,
    GroupSource,
    Membership,
    OutboxMessage,
    User,
    UserStatus,
)
from tests.support import factories

SCIM = Origin("scim")
BY_HAND = Origin("manual", "slack:T1:U1")
KEY = SourceKey("scim", "1")
_NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


async def _changes(session, user_id=None):
    query = select(DirectoryChange).order_by(DirectoryChange.id)
    if user_id is not None:
        query = query.where(DirectoryChange.user_id == user_id)
    return list((await session.execute(query)).scalars())


async def _open(session, group_id):
    rows = await session.execute(
        select(Membership.user_id).where(
            Membership.group_id == group_id, Membership.ended_at.is_(None)
        )
    )
    return set(rows.scalars())


async def _group(session, org, kind, name):
    (group,) = await directory.find_group(session, org.id, name, kind)
    return group


async def test_attribute_changes_are_logged_with_source_and_time(session):
    org = await factories.organisation(session)
    ann = await factories.user(session, org)
    n = await directory.apply_attributes(
        session,
        org.id,
        {ann.id: {"language": "en-GB", "hire_date": date(2024, 3, 1), "company": "Acme"}},
        SCIM,
        _NOW,
    )
    assert n == 3
    # The same values again change nothing and log nothing.
    assert (
        await directory.apply_attributes(
            session, org.id, {ann.id: {"language": "en-GB"}}, SCIM, _NOW
        )
        == 0
    )
    changes = [(c.kind, c.field, c.old, c.new, c.source) for c in await _changes(session, ann.id)]
    assert (ChangeKind.ATTRIBUTE, "language", None, "en-GB", "scim") in changes
    assert (ChangeKind.ATTRIBUTE, "hire_date", None, "2024-03-01", "scim") in changes
    assert all(c.at == _NOW for c in await _changes(session, ann.id))
    await session.refresh(ann)
    assert (ann.language, ann.hire_date, ann.company) == ("en-GB", date(2024, 3, 1), "Acme")


async def test_department_and_its_group_agree_both_ways(session):
    org = await factories.organisation(session)
    ann = await factories.user(session, org)
    bob = await factories.user(session, org, "bob@example.com")
    await directory.apply_attributes(session, org.id, {ann.id: {"department": "Sales"}}, SCIM, _NOW)
    sales = await _group(session, org, GroupKind.DEPARTMENT, "sales")
    assert sales.source is GroupSource.ATTRIBUTE
    assert await _open(session, sales.id) == {ann.id}
    # Moving her ends the Sales membership and starts Marketing's.
    await directory.apply_attributes(
        session, org.id, {ann.id: {"department": "Marketing"}}, SCIM, _NOW
    )
    marketing = await _group(session, org, GroupKind.DEPARTMENT, "Marketing")
    assert await _open(session, sales.id) == set()
    assert await _open(session, marketing.id) == {ann.id}
    # The other way: adding Bob to the Sales group makes Sales his department.
    await directory.add_members(session, sales, [bob.id], BY_HAND)
    await session.refresh(bob)
    assert bob.department == "Sales"
    assert await _open(session, sales.id) == {bob.id}
    # And removing him clears it.
    await directory.remove_members(session, sales, [bob.id], BY_HAND)
    await session.refresh(bob)
    assert bob.department is None
    kinds = [(c.kind, c.field, c.group_id) for c in await _changes(session, bob.id)]
    assert kinds == [
        (ChangeKind.ATTRIBUTE, "department", None),
        (ChangeKind.JOINED, None, sales.id),
        (ChangeKind.ATTRIBUTE, "department", None),
        (ChangeKind.LEFT, None, sales.id),
    ]


async def test_membership_history_join_leave_rejoin(session):
    org = await factories.organisation(session)
    ann = await factories.user(session, org)
    ids = await directory.named_groups(
        session, org.id, GroupKind.GROUP, ["Mentors"], create=GroupSource.MANUAL
    )
    group = await _group(session, org, GroupKind.GROUP, "mentors")
    assert ids == {"mentors": group.id}
    assert (await directory.add_members(session, group, [ann.id], BY_HAND)).joined == [ann.id]
    assert (await directory.add_members(session, group, [ann.id], BY_HAND)).joined == []
    assert (await directory.remove_members(session, group, [ann.id], BY_HAND)).left == [ann.id]
    assert (await directory.add_members(session, group, [ann.id], BY_HAND)).joined == [ann.id]
    rows = list(
        (
            await session.execute(
                select(Membership).where(Membership.user_id == ann.id).order_by(Membership.id)
            )
        ).scalars()
    )
    assert [(r.ended_at is None) for r in rows] == [False, True]
    assert rows[0].started_at <= rows[0].ended_at <= rows[1].started_at
    kinds = [c.kind for c in await _changes(session, ann.id)]
    assert kinds == [ChangeKind.JOINED, ChangeKind.LEFT, ChangeKind.JOINED]
    assert {c.actor for c in await _changes(session, ann.id)} == {"slack:T1:U1"}


async def test_replace_members_of_thousands_in_one_call(session):
    org = await factories.organisation(session)
    people = [PersonRecord(f"s{i}", f"p{i}@example.com") for i in range(3000)]
    made = await directory.upsert_people(session, org.id, people, SCIM, key=KEY)
    assert made.created == 3000 and None not in made.user_ids
    ids = made.user_ids
    group = await directory.source_group(session, org.id, GroupSource.SCIM, "g1", "Everyone")
    first = await directory.replace_members(session, group, ids[:2500], SCIM)
    second = await directory.replace_members(session, group, ids[500:], SCIM)
    assert (len(first.joined), len(first.left)) == (2500, 0)
    assert (len(second.joined), len(second.left)) == (500, 500)
    assert await _open(session, group.id) == set(ids[500:])


async def test_upsert_people_keys_by_stable_id_and_a_new_email_never_moves_the_account(session):
    org = await factories.organisation(session)
    await factories.user(session, org, "old@example.com")
    taken = await factories.user(session, org, "taken@example.com")
    first = await directory.upsert_people(
        session,
        org.id,
        [
            PersonRecord("e1", "old@example.com", {"department": "Ops"}),
            PersonRecord("e2", "new@example.com", {"first_name": "Nia"}, manager_subject="e1"),
        ],
        SCIM,
        key=KEY,
    )
    ann_id, nia_id = first.user_ids
    assert first.created == 1
    nia = await session.get(User, nia_id)
    await session.refresh(nia)
    assert (nia.first_name, nia.manager_id) == ("Nia", ann_id)
    # The source renames e1's address: the same person gets it.
    again = await directory.upsert_people(
        session, org.id, [PersonRecord("e1", "renamed@example.com")], SCIM, key=KEY
    )
    assert again.user_ids == [ann_id]
    ann = await session.get(User, ann_id)
    await session.refresh(ann)
    assert ann.email == "renamed@example.com"
    # An address another person holds moves no account.
    clash = await directory.upsert_people(
        session, org.id, [PersonRecord("e1", "taken@example.com")], SCIM, key=KEY
    )
    assert clash.user_ids == [ann_id] != [taken.id]
    await session.refresh(ann)
    assert ann.email == "renamed@example.com"
    added = [c for c in await _changes(session) if c.kind is ChangeKind.PERSON_ADDED]
    assert [c.user_id for c in added] == [nia_id]


async def test_deactivation_keeps_enrolments_and_history(session):
    org = await factories.organisation(session)
    ann = await factories.user(session, org)
    item = await factories.item(session, org)
    await enrol(
        session, organisation=org, user=ann, item=item, source=EnrolmentSource.MANUAL, by="test"
    )
    await directory.apply_attributes(session, org.id, {ann.id: {"team": "Blue"}}, SCIM, _NOW)
    assert await directory.deactivate(session, org.id, [ann.id], SCIM) == [ann.id]
    assert await directory.deactivate(session, org.id, [ann.id], SCIM) == []
    await session.refresh(ann)
    assert ann.status is UserStatus.DEACTIVATED
    count = select(func.count()).select_from(Enrolment).where(Enrolment.user_id == ann.id)
    assert (await session.execute(count)).scalar_one() == 1
    kinds = [c.kind for c in await _changes(session, ann.id)]
    assert kinds[-1] is ChangeKind.DEACTIVATED and ChangeKind.JOINED in kinds


async def test_a_group_kept_by_a_source_refuses_other_changes_with_where_to_make_them(session):
    org = await factories.organisation(session)
    ann = await factories.user(session, org)
    group = await directory.source_group(
        session, org.id, GroupSource.SLACK_USERGROUP, "S0123", "designers"
    )
    with pytest.raises(directory.OwnedElsewhere) as refused:
        await directory.add_members(session, group, [ann.id], BY_HAND)
    assert str(refused.value) == (
        "designers is kept by its Slack user group: change its members there, and enrolbot "
        "follows within a minute (or at the next `group sync`)."
    )
    # The source itself may.
    await directory.add_members(session, group, [ann.id], Origin("slack_usergroup"))
    assert await _open(session, group.id) == {ann.id}


async def _people_in_scim(session, org, n):
    records = [PersonRecord(f"s{i}", f"p{i}@example.com") for i in range(n)]
    made = await directory.upsert_people(session, org.id, records, SCIM, key=KEY)
    return records, made.user_ids


async def test_a_sync_that_would_deactivate_too_many_stops_and_tells_the_admins(session):
    org = await factories.organisation(session)
    admin = await factories.user(session, org, "boss@example.com")
    records, _ = await _people_in_scim(session, org, 100)
    group = GroupRecord("g1", "All", [r.subject for r in records])
    await directory.apply_snapshot(
        session, org.id, Snapshot(GroupSource.SCIM, KEY, True, records, [group])
    )
    # Six of a hundred gone (more than 5 %): stopped, nothing changed.
    fewer = records[6:]
    result = await directory.apply_snapshot(
        session,
        org.id,
        Snapshot(
            GroupSource.SCIM,
            KEY,
            True,
            fewer,
            [GroupRecord("g1", "All", [r.subject for r in fewer])],
        ),
        bootstrap_admins=frozenset({"boss@example.com"}),
    )
    assert (result.outcome, result.affected, result.scope) == (directory.Outcome.STOPPED, 6, 100)
    active = select(func.count()).select_from(User).where(User.status == UserStatus.ACTIVE)
    assert (await session.execute(active)).scalar_one() == 101
    g = (await directory.source_groups(session, org.id, GroupSource.SCIM))[0]
    assert len(await _open(session, g.id)) == 100
    (notice,) = (await session.execute(select(OutboxMessage))).scalars()
    assert notice.destination == f"email:{admin.email}"
    assert "stopped and changed nothing" in notice.payload["text"]
    assert "6 of 100 people" in notice.payload["text"]
    # Five of a hundred is within the rule.
    five = records[5:]
    done = await directory.apply_snapshot(
        session,
        org.id,
        Snapshot(
            GroupSource.SCIM, KEY, True, five, [GroupRecord("g1", "All", [r.subject for r in five])]
        ),
    )
    assert (done.outcome, done.deactivated, done.left) == (directory.Outcome.APPLIED, 5, 5)


async def test_an_incomplete_fetch_deactivates_and_removes_no_one(session):
    org = await factories.organisation(session)
    records, _ = await _people_in_scim(session, org, 10)
    await directory.apply_snapshot(
        session,
        org.id,
        Snapshot(
            GroupSource.SCIM,
            KEY,
            True,
            records,
            [GroupRecord("g1", "All", [r.subject for r in records])],
        ),
    )
    half = [*records[:5], PersonRecord("new", "new@example.com")]
    result = await directory.apply_snapshot(
        session,
        org.id,
        Snapshot(GroupSource.SCIM, KEY, False, half, [GroupRecord("g1", "All", ["new"])]),
    )
    assert (result.outcome, result.deactivated, result.left, result.joined) == (
        directory.Outcome.PARTIAL,
        0,
        0,
        1,
    )
    active = select(func.count()).select_from(User).where(User.status == UserStatus.ACTIVE)
    assert (await session.execute(active)).scalar_one() == 11


async def test_the_sources_registry_runs_each_and_a_failed_fetch_changes_nothing(sessions):
    async with sessions() as session, session.begin():
        org = await factories.organisation(session)
    sources = directory.DirectorySources()
    run = directory.SyncRun(sessions, org.id)
    assert await sources.sync(run) == [directory.NO_SOURCES]

    async def good(run):
        await run.apply(Snapshot(GroupSource.SCIM, KEY, True, [PersonRecord("a", "a@example.com")]))

    async def broken(run):
        raise TimeoutError("https://idp.example/?token=secret")

    sources.add(directory.DirectorySource("scim", good))
    sources.add(directory.DirectorySource("slack", broken))
    lines = await sources.sync(run)
    assert lines == [
        "scim: 1 person added, 0 deactivated, 0 joined and 0 left groups.",
        "slack: the fetch failed (TimeoutError); nothing changed.",
    ]


async def test_a_person_provisioned_at_their_first_click_is_logged_as_added(session):
    from handlers.identity import Account, Profile, identify

    org = await factories.organisation(session, sso_auto_provision=True)
    account = Account("slack", "T1", "U0NEW")

    async def lookup() -> Profile:
        return Profile(email="new@example.com", first_name="Nia")

    person = await identify(session, org, account, lookup)
    (added,) = await _changes(session, person.user.id)
    assert (added.kind, added.source, added.actor, added.new) == (
        ChangeKind.PERSON_ADDED,
        "sso",
        "slack:T1:U0NEW",
        "new@example.com",
    )


async def test_a_hire_date_may_come_as_iso_text(session):
    org = await factories.organisation(session)
    ann = await factories.user(session, org)
    await directory.apply_attributes(
        session, org.id, {ann.id: {"hire_date": "2023-05-02T00:00:00Z"}}, SCIM, _NOW
    )
    await session.refresh(ann)
    assert ann.hire_date == date(2023, 5, 2)


async def test_a_snapshot_that_keeps_absent_people_deactivates_only_those_it_says_are_gone(
    sessions,
):
    """Slack's kind of snapshot (absent_kept): people it leaves out stay; people it lists as
    inactive are deactivated, but not when the fetch was incomplete."""
    async with sessions() as session, session.begin():
        org = await factories.organisation(session)
    key = SourceKey("slack", "T1")
    run = directory.SyncRun(sessions, org.id, max_removal_percent=100)
    people = [PersonRecord(f"U{i}", f"u{i}@example.com") for i in range(3)]
    await run.apply(Snapshot(GroupSource.SLACK_CHANNEL, key, True, people, absent_kept=True))
    gone = [PersonRecord("U1", active=False)]
    partial = await run.apply(
        Snapshot(GroupSource.SLACK_CHANNEL, key, False, gone, absent_kept=True)
    )
    assert partial.deactivated == 0
    done = await run.apply(Snapshot(GroupSource.SLACK_CHANNEL, key, True, gone, absent_kept=True))
    assert done.deactivated == 1
    async with sessions() as session:
        rows = await session.execute(select(User.email, User.status).order_by(User.email))
        assert [(e, s) for e, s in rows] == [
            ("u0@example.com", UserStatus.ACTIVE),
            ("u1@example.com", UserStatus.DEACTIVATED),
            ("u2@example.com", UserStatus.ACTIVE),
        ]
