"""Who a rule means, as SQL: one WHERE clause over portal_user, so that enrolling, previewing,
withdrawing and reconciling are each one statement over everyone (or over the people a change
touched), never a loop over people in Python. Works on SQLite and PostgreSQL alike.

Criteria combine with AND: everyone / any of the groups (an open membership) / each --where
field (several values of one field: any of them) / the manager's direct reports, or everyone
below them (a recursive CTE) / hired after / added after. Only active people; prospects only
when the rule says so.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql import FromClause

from store.models import (
    WHERE_FIELDS,
    EnrolmentRule,
    Membership,
    RuleCondition,
    RuleGroup,
    User,
    UserStatus,
    UserType,
)

_names = itertools.count()


@dataclass(frozen=True)
class Criteria:
    """A rule's audience, as plain values (saved rules and previews alike)."""

    organisation_id: int
    everyone: bool = False
    group_ids: tuple[int, ...] = ()
    where: tuple[tuple[str, str], ...] = ()  # (field, value) pairs
    manager_id: int | None = None
    all_reports: bool = False
    hired_after: date | None = None
    added_after: date | None = None
    include_prospects: bool = False

    def __post_init__(self) -> None:
        for name, _ in self.where:
            if name not in WHERE_FIELDS:
                raise ValueError(f"{name} is not a field a rule can name")

    @property
    def says_who(self) -> bool:
        """Whether anyone was named at all (a rule needs --everyone or a criterion)."""
        return bool(
            self.everyone
            or self.group_ids
            or self.where
            or self.manager_id
            or self.hired_after
            or self.added_after
        )

    def fields(self) -> dict[str, list[str]]:
        by_field: dict[str, list[str]] = defaultdict(list)
        for name, value in self.where:
            by_field[name].append(value)
        return dict(by_field)


def of_rule(rule: EnrolmentRule, group_ids: list[int], where: list[tuple[str, str]]) -> Criteria:
    return Criteria(
        organisation_id=rule.organisation_id,
        everyone=rule.everyone,
        group_ids=tuple(sorted(group_ids)),
        where=tuple(sorted(where)),
        manager_id=rule.manager_id,
        all_reports=rule.all_reports,
        hired_after=rule.hired_after,
        added_after=rule.added_after,
        include_prospects=rule.include_prospects,
    )


def where_clause(criteria: Criteria, person: FromClause | type[User] = User) -> ColumnElement:
    """The condition that a row of `person` (portal_user, or an alias of it) matches."""
    u = person if person is not User else User.__table__
    c = u.c  # type: ignore[union-attr]
    parts: list[ColumnElement] = [
        c.organisation_id == criteria.organisation_id,
        c.status == UserStatus.ACTIVE.value,
    ]
    if not criteria.include_prospects:
        parts.append(c.type != UserType.PROSPECT.value)
    if not criteria.says_who:
        parts.append(false())
    if criteria.group_ids:
        m = Membership.__table__
        parts.append(
            exists(
                select(m.c.id).where(
                    m.c.user_id == c.id,
                    m.c.ended_at.is_(None),
                    m.c.group_id.in_(criteria.group_ids),
                )
            )
        )
    for name, values in sorted(criteria.fields().items()):
        parts.append(func.lower(c[name]).in_(sorted({v.lower() for v in values})))
    if criteria.manager_id is not None:
        if criteria.all_reports:
            parts.append(c.id.in_(select(_reports(criteria.manager_id).c.id)))
        else:
            parts.append(c.manager_id == criteria.manager_id)
    if criteria.hired_after is not None:
        parts.append(c.hire_date > criteria.hired_after)
    if criteria.added_after is not None:
        day_after = datetime.combine(criteria.added_after + timedelta(days=1), time(), UTC)
        parts.append(c.first_known_at >= day_after)
    return and_(*parts)


def _reports(manager_id: int):
    """Everyone below `manager_id`, however deep (UNION, not UNION ALL: a loop in the data ends
    instead of running forever)."""
    users = User.__table__
    name = f"reports_{next(_names)}"
    below = (
        select(users.c.id)
        .where(users.c.manager_id == manager_id)
        .cte(name, recursive=True, nesting=True)
    )
    deeper = aliased(users, name=f"{name}_u")
    return below.union(select(deeper.c.id).where(deeper.c.manager_id == below.c.id))


def matching(criteria: Criteria, user_ids: list[int] | None = None) -> Select:
    """SELECT portal_user.id of everyone matching (among `user_ids`, when given)."""
    users = User.__table__
    query = select(users.c.id).where(where_clause(criteria, users))
    if user_ids is not None:
        query = query.where(users.c.id.in_(user_ids)) if user_ids else query.where(false())
    return query


def any_of(rules: list[Criteria], person: FromClause) -> ColumnElement:
    """Whether a row of `person` matches at least one of `rules`."""
    if not rules:
        return false()
    return (
        or_(*(where_clause(c, person) for c in rules))
        if len(rules) > 1
        else where_clause(rules[0], person)
    )


def criteria_rows(rule_ids: list[int]) -> tuple[Select, Select]:
    """The child rows of these rules: (rule_id, group_id) and (rule_id, field, value)."""
    return (
        select(RuleGroup.rule_id, RuleGroup.group_id).where(RuleGroup.rule_id.in_(rule_ids)),
        select(RuleCondition.rule_id, RuleCondition.field, RuleCondition.value).where(
            RuleCondition.rule_id.in_(rule_ids)
        ),
    )
