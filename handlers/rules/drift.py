"""`drift ITEM`: the item's rules against its enrolments, set-based. Expected is everyone the
item's rules (paused ones too) would enrol, --new-only baselines left out, as enrol_matching
does; held is everyone with an open or completed enrolment in any period. Two lists, each
counted in one query and named up to LISTED, each person with the reason:

- expected but not held: only paused rules match; withdrawn; not acted on yet;
- enrolled (open) though no active rule expects them: deactivated; by link, token, hand, API;
  by a rule now paused or deleted; no longer matching the rule that enrolled them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, FromClause, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.replies import echo
from handlers.rules.criteria import where_clause
from handlers.rules.explain import WAYS
from handlers.rules.saved import Loaded, load
from handlers.rules.wording import day
from store.models import (
    CatalogItem,
    Enrolment,
    EnrolmentRule,
    EnrolmentSource,
    EnrolmentStatus,
    RuleBaseline,
    User,
    UserStatus,
)

LISTED = 20


@dataclass(frozen=True)
class Drift:
    rules: int
    missing: int
    missing_listed: list[tuple[str, str]]  # (person, reason)
    extra: int
    extra_listed: list[tuple[str, str]]


def _expects(rule: Loaded, person: FromClause) -> ColumnElement:
    """Whether `rule` would enrol a row of `person` (a --new-only rule's baseline excluded)."""
    condition = where_clause(rule.criteria, person)
    if rule.rule.new_only:
        baseline = exists(
            select(RuleBaseline.user_id).where(
                RuleBaseline.rule_id == rule.rule.id, RuleBaseline.user_id == person.c.id
            )
        )
        condition = condition & ~baseline
    return condition


def _any(rules: list[Loaded], person: FromClause) -> ColumnElement:
    return or_(*(_expects(r, person) for r in rules)) if rules else false()


def _name(row) -> str:
    full = f"{row.first_name} {row.last_name}".strip()
    return f"{echo(full, 80)} ({echo(row.email, 120)})" if full else echo(row.email, 120)


async def drift(session: AsyncSession, item: CatalogItem) -> Drift:
    rules = await load(
        session, organisation_id=item.organisation_id, item_id=item.id, active_only=False
    )
    active = [r for r in rules if r.rule.active]
    person = User.__table__.alias("person")
    e = Enrolment.__table__
    held = exists(
        select(e.c.id).where(
            e.c.user_id == person.c.id,
            e.c.item_id == item.id,
            e.c.status.in_([EnrolmentStatus.ENROLLED.value, EnrolmentStatus.COMPLETED.value]),
        )
    )
    missing_where = (person.c.organisation_id == item.organisation_id, _any(rules, person), ~held)
    missing = await session.scalar(select(func.count()).select_from(person).where(*missing_where))
    missing_rows = list(
        await session.execute(
            select(person).where(*missing_where).order_by(person.c.email).limit(LISTED)
        )
    )
    open_rows = e.join(person, person.c.id == e.c.user_id)
    extra_where = (
        e.c.item_id == item.id,
        e.c.status == EnrolmentStatus.ENROLLED.value,
        ~_any(active, person),
    )
    extra = await session.scalar(select(func.count()).select_from(open_rows).where(*extra_where))
    extra_rows = list(
        await session.execute(
            select(person, e.c.source, e.c.rule_id, e.c.link_id, e.c.registration_token_id)
            .select_from(open_rows)
            .where(*extra_where)
            .order_by(person.c.email)
            .limit(LISTED)
        )
    )
    return Drift(
        len(rules),
        int(missing or 0),
        [(_name(r), await _missing_reason(session, item, rules, r.id)) for r in missing_rows],
        int(extra or 0),
        [(_name(r), await _extra_reason(session, r)) for r in extra_rows],
    )


async def _matching_rules(session: AsyncSession, rules: list[Loaded], user_id: int) -> list:
    person = User.__table__.alias("one")
    found = []
    for rule in rules:
        hit = await session.scalar(
            select(person.c.id).where(person.c.id == user_id, _expects(rule, person))
        )
        if hit is not None:
            found.append(rule.rule)
    return found


async def _missing_reason(
    session: AsyncSession, item: CatalogItem, rules: list[Loaded], user_id: int
) -> str:
    matched = await _matching_rules(session, rules, user_id)
    if matched and not any(r.active for r in matched):
        ids = ", ".join(str(r.id) for r in matched)
        return f"paused rule {ids}" if len(matched) == 1 else f"paused rules {ids}"
    withdrawn = await session.scalar(
        select(Enrolment.withdrawn_at)
        .where(
            Enrolment.user_id == user_id,
            Enrolment.item_id == item.id,
            Enrolment.status == EnrolmentStatus.WITHDRAWN,
        )
        .order_by(Enrolment.period.desc())
        .limit(1)
    )
    if withdrawn is not None:
        return f"withdrawn on {day(withdrawn.date())}; the next run enrols them again"
    return "not enrolled yet: the rules enrol them within a second, or at tonight's reconcile"


async def _extra_reason(session: AsyncSession, row) -> str:
    if row.status != UserStatus.ACTIVE.value:
        return "deactivated (their enrolment stays)"
    source = EnrolmentSource(row.source)
    if source is EnrolmentSource.RULE and row.rule_id is not None:
        rule = await session.get(EnrolmentRule, row.rule_id)
        if rule is None or rule.deleted_at is not None:
            return f"enrolled by rule {row.rule_id}, since deleted"
        if rule.paused_at is not None:
            return f"enrolled by rule {rule.id}, now paused"
        return f"no longer matches rule {rule.id}, which enrolled them (enrolments stay)"
    if source is EnrolmentSource.LINK:
        return f"enrolled themselves by link {row.link_id}" if row.link_id else "by link"
    if source is EnrolmentSource.REGISTRATION:
        return f"registered with token {row.registration_token_id}"
    return f"enrolled {WAYS.get(source, source.value)}"
