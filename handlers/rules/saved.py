"""Saved rules: made, found, loaded with their criteria, paused, resumed, deleted.

A rule's criteria are columns of `enrolment_rule` and its child rows (groups, conditions);
`Loaded` pairs a rule with its criteria as plain values for the SQL of handlers.rules.criteria.
Saving or resuming a rule marks it pending, and the follower (handlers.rules.follow) enrols its
people within a second of the commit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import wakeup
from handlers.rules.criteria import Criteria, of_rule
from store.models import (
    CatalogItem,
    Due,
    EnrolmentRule,
    Recur,
    RuleCondition,
    RuleGroup,
    utcnow,
)


@dataclass(frozen=True)
class Terms:
    """What a rule says beyond who: required or recommended, why, when due, how it recurs."""

    required: bool = True
    reason: str | None = None
    due: Due = Due.NONE
    due_days: int | None = None
    due_on: date | None = None
    due_month: int | None = None
    due_day: int | None = None
    first_due_within: int | None = None
    recur: Recur = Recur.ONCE
    recur_every: int | None = None
    enrol_days_before: int | None = None
    withdraw_on_leave: bool = False
    new_only: bool = False


@dataclass
class Loaded:
    """A saved rule with its criteria, loaded once for a run."""

    rule: EnrolmentRule
    criteria: Criteria
    group_ids: set[int] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)


async def create_rule(
    session: AsyncSession,
    item: CatalogItem,
    criteria: Criteria,
    terms: Terms,
    *,
    created_by: str,
    created_by_user_id: int | None,
    now: datetime | None = None,
) -> EnrolmentRule:
    """Save a rule; it is pending, so the follower evaluates it once committed (a --new-only
    rule first records who matches now, and enrols no one of them)."""
    now = now or utcnow()
    rule = EnrolmentRule(
        organisation_id=item.organisation_id,
        item_id=item.id,
        everyone=criteria.everyone,
        manager_id=criteria.manager_id,
        all_reports=criteria.all_reports,
        hired_after=criteria.hired_after,
        added_after=criteria.added_after,
        include_prospects=criteria.include_prospects,
        created_by=created_by,
        created_by_user_id=created_by_user_id,
        created_at=now,
        pending_since=now,
        **terms.__dict__,
    )
    session.add(rule)
    await session.flush()
    session.add_all(RuleGroup(rule_id=rule.id, group_id=g) for g in sorted(set(criteria.group_ids)))
    session.add_all(
        RuleCondition(rule_id=rule.id, field=f, value=v) for f, v in sorted(set(criteria.where))
    )
    await session.flush()
    if terms.new_only:
        from handlers.rules.apply import record_baseline

        await record_baseline(session, rule, criteria)
    wakeup.changed(session)
    return rule


async def load(
    session: AsyncSession,
    *,
    organisation_id: int | None = None,
    rule_ids: list[int] | None = None,
    item_id: int | None = None,
    active_only: bool = True,
) -> list[Loaded]:
    """Rules (not deleted; not paused either when `active_only`) with their criteria."""
    query = select(EnrolmentRule).where(EnrolmentRule.deleted_at.is_(None))
    if active_only:
        query = query.where(EnrolmentRule.paused_at.is_(None))
    if organisation_id is not None:
        query = query.where(EnrolmentRule.organisation_id == organisation_id)
    if rule_ids is not None:
        query = query.where(EnrolmentRule.id.in_(rule_ids))
    if item_id is not None:
        query = query.where(EnrolmentRule.item_id == item_id)
    rules = list((await session.execute(query.order_by(EnrolmentRule.id))).scalars())
    ids = [r.id for r in rules]
    groups: dict[int, list[int]] = defaultdict(list)
    where: dict[int, list[tuple[str, str]]] = defaultdict(list)
    if ids:
        for rule_id, group_id in await session.execute(
            select(RuleGroup.rule_id, RuleGroup.group_id).where(RuleGroup.rule_id.in_(ids))
        ):
            groups[rule_id].append(group_id)
        for rule_id, name, value in await session.execute(
            select(RuleCondition.rule_id, RuleCondition.field, RuleCondition.value).where(
                RuleCondition.rule_id.in_(ids)
            )
        ):
            where[rule_id].append((name, value))
    return [
        Loaded(
            r,
            of_rule(r, groups[r.id], where[r.id]),
            set(groups[r.id]),
            {name for name, _ in where[r.id]},
        )
        for r in rules
    ]


async def get_rule(session: AsyncSession, organisation_id: int, rule_id: int) -> Loaded | None:
    found = await load(
        session, organisation_id=organisation_id, rule_ids=[rule_id], active_only=False
    )
    return found[0] if found else None


async def pause(session: AsyncSession, rule: EnrolmentRule, now: datetime | None = None) -> bool:
    """Stop enrolling; what it enrolled stays. False when it was paused already."""
    if rule.paused_at is not None:
        return False
    rule.paused_at = now or utcnow()
    await session.flush()
    return True


async def resume(session: AsyncSession, rule: EnrolmentRule, now: datetime | None = None) -> bool:
    """Enrol again, catching up on everyone who came to match while it was paused."""
    if rule.paused_at is None:
        return False
    now = now or utcnow()
    rule.paused_at = None
    rule.pending_since = now
    await session.flush()
    wakeup.changed(session)
    return True


async def delete(session: AsyncSession, rule: EnrolmentRule, now: datetime | None = None) -> None:
    """The rule stops for good; its enrolments stay, and its row stays for `why`."""
    rule.deleted_at = now or utcnow()
    rule.pending_since = None
    await session.flush()
