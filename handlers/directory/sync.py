"""A source's full sync: what it fetched, applied as one change, unless the change would
deactivate or remove too many people (elsewhere, failed syncs suspended thousands of valid
accounts in one run). A fetch that failed or stopped partway never deactivates or removes
anyone: it may only add.

A source fetches everything, builds a `Snapshot` and hands it to `apply_snapshot` in one
transaction. Over the threshold, nothing is changed and the admins are told.
"""

from __future__ import annotations

import enum
import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import admin_notices
from handlers.directory.changes import Origin
from handlers.directory.groups import chunks, clean_name, source_group, source_groups
from handlers.directory.memberships import close_memberships, open_pairs
from handlers.directory.people import (
    PersonRecord,
    SourceKey,
    upsert_people,
    users_by_subject,
)
from handlers.directory.status import deactivate
from store.batches import plan_each_statement
from store.models import (
    Group,
    GroupKind,
    GroupSource,
    Identity,
    Membership,
    User,
    UserStatus,
    utcnow,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_REMOVAL_PERCENT = 5.0


@dataclass
class GroupRecord:
    """One group as the source has it: its stable id, name, and every member's stable id."""

    source_id: str
    name: str
    members: list[str]
    kind: GroupKind = GroupKind.GROUP


@dataclass
class Snapshot:
    """Everything a source fetched. `people` None: the source does not keep people (it only
    keeps groups), so no one is deactivated for missing from it. `complete` False: some page
    failed, so the snapshot may only add. `absent_kept` True: the source lists only some of
    the people it has linked (Slack's users.list leaves out other workspaces of an Enterprise
    Grid), so only those it lists as inactive are deactivated, never those it leaves out."""

    source: GroupSource
    key: SourceKey
    complete: bool
    people: list[PersonRecord] | None = None
    groups: list[GroupRecord] = field(default_factory=list)
    absent_kept: bool = False


class Outcome(enum.StrEnum):
    APPLIED = "applied"
    STOPPED = "stopped"  # over the threshold: nothing changed, admins told
    PARTIAL = "partial"  # an incomplete fetch: additions only


@dataclass
class SyncResult:
    source: str
    outcome: Outcome
    people: int = 0  # people in the snapshot
    created: int = 0
    deactivated: int = 0
    joined: int = 0
    left: int = 0
    affected: int = 0  # people a removal or deactivation would reach
    scope: int = 0  # people the source covers

    def describe(self) -> str:
        if self.outcome is Outcome.STOPPED:
            return (
                f"{self.source}: stopped, nothing changed: it would have deactivated or removed "
                f"{self.affected} of {self.scope} people."
            )
        partial = (
            " (the fetch was incomplete: nothing removed)"
            if self.outcome is Outcome.PARTIAL
            else ""
        )
        return (
            f"{self.source}: {_people(self.created)} added, {self.deactivated} deactivated, "
            f"{self.joined} joined and {self.left} left groups{partial}."
        )


def _people(n: int) -> str:
    return "1 person" if n == 1 else f"{n} people"


@dataclass
class _Plan:
    known: set[int]  # active people linked to the source's stable ids
    deactivate: set[int]
    existing: dict[str, Group]  # the source's live groups, by stable id
    before: dict[int, set[int]]  # their current members, by group id
    users: dict[str, int]  # the snapshot's members' stable ids known now, to user ids

    def after(self, record: GroupRecord) -> set[int]:
        return {self.users[s] for s in record.members if s in self.users}

    def groups(self, snapshot: Snapshot) -> list[tuple[set[int], set[int]]]:
        """(current members, new members) of each existing group the snapshot has."""
        return [
            (self.before.get(self.existing[r.source_id].id, set()), self.after(r))
            for r in snapshot.groups
            if r.source_id in self.existing
        ]


async def apply_snapshot(
    session: AsyncSession,
    organisation_id: int,
    snapshot: Snapshot,
    *,
    max_removal_percent: float = DEFAULT_MAX_REMOVAL_PERCENT,
    force: bool = False,
    bootstrap_admins: frozenset[str] = frozenset(),
    now: datetime | None = None,
) -> SyncResult:
    """Apply a source's full snapshot in the session's transaction; see the module's rules.
    `force` applies a change over the threshold (an admin who checked it)."""
    now = now or utcnow()
    await plan_each_statement(session)
    result = SyncResult(snapshot.source.value, Outcome.APPLIED)
    plan = await _plan(session, organisation_id, snapshot)
    if snapshot.complete:
        result.affected, result.scope = _reach(plan, snapshot)
        if not force and _over(result.affected, result.scope, max_removal_percent):
            result.outcome = Outcome.STOPPED
            await admin_notices.tell_admins(
                session,
                organisation_id,
                stop_notice(
                    snapshot.source.value, result.affected, result.scope, max_removal_percent
                ),
                now,
                bootstrap_admins=bootstrap_admins,
            )
            log.warning("directory sync of %s stopped: %s", snapshot.source, result.describe())
            return result
    else:
        result.outcome = Outcome.PARTIAL
    await _apply(session, organisation_id, snapshot, plan, result, now)
    return result


async def _apply(
    session: AsyncSession,
    organisation_id: int,
    snapshot: Snapshot,
    plan: _Plan,
    result: SyncResult,
    now: datetime,
) -> None:
    origin = Origin(snapshot.source.value)
    if snapshot.people is not None:
        people = snapshot.people
        if snapshot.complete:
            # Before the upsert, which would deactivate those listed inactive uncounted.
            result.deactivated = len(
                await deactivate(session, organisation_id, sorted(plan.deactivate), origin, now)
            )
        else:  # an incomplete fetch only adds: no one is deactivated
            people = [replace(p, active=None) if p.active is False else p for p in people]
        done = await upsert_people(
            session, organisation_id, people, origin, key=snapshot.key, now=now
        )
        result.people, result.created = len(snapshot.people), done.created
    # People the snapshot just made are members too.
    unknown = {s for r in snapshot.groups for s in r.members if s not in plan.users}
    if unknown:
        plan.users.update(await users_by_subject(session, snapshot.key, sorted(unknown)))
    joining: list[tuple[int, int]] = []
    for record in snapshot.groups:
        group = plan.existing.get(record.source_id)
        if group is None:
            group = await source_group(
                session,
                organisation_id,
                snapshot.source,
                record.source_id,
                record.name,
                record.kind,
            )
        elif clean_name(record.name) and group.name != clean_name(record.name):
            group.name = clean_name(record.name)
        before, after = plan.before.get(group.id, set()), plan.after(record)
        joining += [(group.id, u) for u in sorted(after - before)]
        if snapshot.complete and before - after:
            left = await close_memberships(
                session, organisation_id, group.id, before - after, origin, now
            )
            result.left += len(left)
    # A source's groups are its own (never kept by an attribute): their joins go in at once.
    result.joined += len(await open_pairs(session, organisation_id, joining, origin, now))


async def _plan(session: AsyncSession, organisation_id: int, snapshot: Snapshot) -> _Plan:
    """Whom the snapshot would deactivate and remove, before anything changes: a few queries
    whatever the number of groups."""
    off: set[int] = set()
    known: dict[str, int] = {}
    if snapshot.people is not None:
        known = await _people_of_source(session, organisation_id, snapshot.key)
        if snapshot.absent_kept:
            gone = {p.subject for p in snapshot.people if p.subject and p.active is False}
            off = {user_id for subject, user_id in known.items() if subject in gone}
        else:
            listed = {p.subject for p in snapshot.people if p.subject and p.active is not False}
            off = {user_id for subject, user_id in known.items() if subject not in listed}
    existing = {
        g.source_id: g for g in await source_groups(session, organisation_id, snapshot.source)
    }
    wanted = [existing[r.source_id].id for r in snapshot.groups if r.source_id in existing]
    before: dict[int, set[int]] = defaultdict(set)
    for part in chunks(wanted):
        rows = await session.execute(
            select(Membership.group_id, Membership.user_id).where(
                Membership.group_id.in_(part), Membership.ended_at.is_(None)
            )
        )
        for group_id, user_id in rows:
            before[group_id].add(user_id)
    subjects = sorted({s for r in snapshot.groups for s in r.members})
    users = await users_by_subject(session, snapshot.key, subjects)
    return _Plan(set(known.values()), off, existing, dict(before), users)


def _reach(plan: _Plan, snapshot: Snapshot) -> tuple[int, int]:
    """(people a deactivation or removal reaches, people the source covers)."""
    affected = set(plan.deactivate)
    scope = set(plan.known)
    for before, after in plan.groups(snapshot):
        affected |= before - after
        scope |= before | after
    return len(affected), len(scope)


def _over(affected: int, scope: int, percent: float) -> bool:
    return scope > 0 and affected * 100 > percent * scope


async def _people_of_source(
    session: AsyncSession, organisation_id: int, key: SourceKey
) -> dict[str, int]:
    """Active people linked to the source's stable ids, by stable id. Two plain reads, not a
    join: on tables filled in the same transaction PostgreSQL has no statistics yet, and
    planned the join as a nested loop (13 s for 10,000 people)."""
    linked = await session.execute(
        select(Identity.subject, Identity.user_id).where(
            Identity.provider == key.provider,
            Identity.tenant_key == key.tenant_key,
            Identity.user_id.is_not(None),
        )
    )
    active = set(
        (
            await session.execute(
                select(User.id).where(
                    User.organisation_id == organisation_id, User.status == UserStatus.ACTIVE
                )
            )
        ).scalars()
    )
    return {s: u for s, u in linked if u in active}


def stop_notice(source: str, affected: int, scope: int, percent: float) -> str:
    """The sentence the admins read when a sync stops at the threshold."""
    return (
        f"The directory sync from {source} stopped and changed nothing: it would have "
        f"deactivated or removed {affected} of {scope} people, more than the "
        f"{percent:g} % allowed (ENROLBOT_SYNC_MAX_REMOVAL_PERCENT). If the source is right, "
        "run `enrolbot directory sync --force`; if not, fix the source and the next sync "
        "repairs itself."
    )
