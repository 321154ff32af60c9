"""A rule applied, set-based: enrol who matches, withdraw who left (when the rule says so), and
keep a --new-only rule's baseline. Each is one statement or a few over everyone, or over the
people a change touched; never a loop over people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, exists, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import audit, events
from handlers.enrol import Placement, enrol_many
from handlers.rules.criteria import Criteria, any_of, matching, where_clause
from handlers.rules.messages import ENROLLED, WITHDRAWN, tell_learners, unsay
from handlers.rules.saved import Loaded, load
from handlers.rules.schedule import first_period
from store.models import (
    Enrolment,
    EnrolmentRule,
    EnrolmentSource,
    EnrolmentStatus,
    RuleBaseline,
    User,
    UserStatus,
    utcnow,
)
from store.upsert import insert_from_select


@dataclass
class Applied:
    """What applying rules changed: (enrolment id, user id) per rule."""

    enrolled: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    withdrawn: dict[int, list[tuple[int, int]]] = field(default_factory=dict)

    def add(self, other: Applied) -> None:
        for mine, theirs in ((self.enrolled, other.enrolled), (self.withdrawn, other.withdrawn)):
            for rule_id, rows in theirs.items():
                mine.setdefault(rule_id, []).extend(rows)

    @property
    def counts(self) -> tuple[int, int]:
        return (
            sum(len(v) for v in self.enrolled.values()),
            sum(len(v) for v in self.withdrawn.values()),
        )


def actor(rule: EnrolmentRule) -> str:
    """Who the audit names for what a rule does."""
    return f"rule {rule.id}"


async def enrol_matching(
    session: AsyncSession,
    rule: Loaded,
    user_ids: list[int] | None = None,
    now: datetime | None = None,
) -> list[tuple[int, int]]:
    """Enrol everyone the rule matches (among `user_ids` when given) in its item's period, in
    one insert-select through handlers.enrol.enrol_many. A --new-only rule skips its baseline.
    (enrolment id, user id) of those enrolled."""
    now = now or utcnow()
    r = rule.rule
    if not r.active:
        return []
    people = matching(rule.criteria, user_ids)
    if r.new_only:
        people = people.where(
            ~exists(
                select(RuleBaseline.user_id).where(
                    RuleBaseline.rule_id == r.id, RuleBaseline.user_id == User.__table__.c.id
                )
            )
        )
    period = first_period(r, now)
    enrolled = await enrol_many(
        session,
        organisation_id=r.organisation_id,
        item_id=r.item_id,
        people=people,
        source=EnrolmentSource.RULE,
        by=actor(r),
        placement=Placement(
            period=period.key,
            required=r.required,
            reason=r.reason,
            due_at=period.due_at,
            visible_from=period.visible_from,
            rule_id=r.id,
        ),
        now=now,
    )
    if enrolled:
        await tell_learners(session, rule=r, action=ENROLLED, at=now)
    return enrolled


async def withdraw_leavers(
    session: AsyncSession,
    rule: Loaded,
    user_ids: list[int] | None = None,
    now: datetime | None = None,
) -> list[tuple[int, int]]:
    """With --withdraw-on-leave: the rule's not-started enrolments (enrolled, no progress) of
    active people who match no rule of the item any more are withdrawn, and audited. What
    they started or completed stays; a deactivated person's enrolments stay as they are."""
    r = rule.rule
    if not r.withdraw_on_leave or r.deleted_at is not None:
        return []
    now = now or utcnow()
    holding = [
        other.criteria
        for other in await load(
            session, organisation_id=r.organisation_id, item_id=r.item_id, active_only=False
        )
    ]
    table = Enrolment.__table__
    person = User.__table__.alias("person")
    still = select(person.c.id).where(person.c.id == table.c.user_id, any_of(holding, person))
    active = select(person.c.id).where(
        person.c.id == table.c.user_id, person.c.status == UserStatus.ACTIVE.value
    )
    statement = update(table).where(
        table.c.rule_id == r.id,
        table.c.item_id == r.item_id,
        table.c.status == EnrolmentStatus.ENROLLED.value,
        table.c.started_at.is_(None),
        table.c.completed_at.is_(None),
        active.exists(),
        ~still.exists(),
    )
    if user_ids is not None:
        statement = statement.where(table.c.user_id.in_(user_ids))
    rows = await session.execute(
        statement.values(
            status=EnrolmentStatus.WITHDRAWN.value, withdrawn_at=now, updated_at=now
        ).returning(table.c.id, table.c.user_id, table.c.visible_from)
    )
    found = list(rows)
    withdrawn = [(int(i), int(u)) for i, u, _ in found]
    await unsay(session, [int(i) for i, _, shows in found if shows is not None and shows > now])
    await events.enrolments(session, events.ENROLMENT_WITHDRAWN, [i for i, _ in withdrawn], now=now)
    await audit.record_many(
        session,
        organisation_id=r.organisation_id,
        action="enrol.withdrawn",
        actor=actor(r),
        actor_user_ids=[u for _, u in withdrawn],
        item_id=r.item_id,
        source=EnrolmentSource.RULE.value,
        rule_id=r.id,
        reason="left",
    )
    if withdrawn:
        await tell_learners(session, rule=r, action=WITHDRAWN, at=now)
    return withdrawn


async def record_baseline(session: AsyncSession, rule: EnrolmentRule, criteria: Criteria) -> None:
    """A --new-only rule's people who match as it is saved (not to be enrolled by it)."""
    users = User.__table__
    rows = select(users.c.id, literal(rule.id).label("rule_id")).where(
        where_clause(criteria, users)
    )
    await insert_from_select(session, RuleBaseline.__table__, ["user_id", "rule_id"], rows)


async def prune_baseline(
    session: AsyncSession, rule: Loaded, user_ids: list[int] | None = None
) -> int:
    """Forget baseline people who no longer match: if they come to match again, that is new,
    and the rule enrols them."""
    r = rule.rule
    if not r.new_only:
        return 0
    base = RuleBaseline.__table__
    person = User.__table__.alias("person")
    matches = select(person.c.id).where(
        person.c.id == base.c.user_id, where_clause(rule.criteria, person)
    )
    statement = delete(base).where(base.c.rule_id == r.id, ~matches.exists())
    if user_ids is not None:
        statement = statement.where(base.c.user_id.in_(user_ids))
    return (await session.execute(statement)).rowcount or 0
