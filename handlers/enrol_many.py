"""`enrol_many`: the one way in for many people at once (rules, bulk enrolment, imports): one
insert-select with conflict handling and one set-based audit insert, never a loop per person.
handlers.enrol re-exports it beside `enrol`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, Subquery, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import audit, events
from store.models import Enrolment, EnrolmentSource, EnrolmentStatus, utcnow
from store.upsert import insert_from_select


@dataclass(frozen=True)
class Placement:
    """What a set-based enrolment's rows say beyond who and what: the period, and a rule's
    required flag, reason, due date, visibility and id."""

    period: int = 0
    required: bool | None = None
    reason: str | None = None
    due_at: datetime | None = None
    visible_from: datetime | None = None
    rule_id: int | None = None
    enrolled_by_user_id: int | None = None  # by hand: who


async def enrol_many(
    session: AsyncSession,
    *,
    organisation_id: int,
    item_id: int,
    people: Select,
    source: EnrolmentSource,
    by: str,
    placement: Placement = Placement(),
    now: datetime | None = None,
) -> list[tuple[int, int]]:
    """The one way in, for many people: enrol everyone `people` (a SELECT of portal_user ids)
    yields in the item, once, in one insert-select, and audit each in one insert. Someone with
    an open enrolment in the item (any period), or any enrolment in this period, is left as
    they are, except that a withdrawn enrolment of this period is enrolled again. Not a
    self-enrolment: no alerts. (enrolment id, user id) of each person enrolled; the caller
    commits."""
    from handlers.enrol import Outcome  # enrol re-exports this module: imported when called

    now = now or utcnow()
    who = people.subquery("who")
    reinstated = await _reinstate_many(session, item_id, who, source, placement, now)
    made = await _insert_new(session, item_id, who, source, placement, now)
    enrolled = reinstated + made
    await events.enrolments(session, events.ENROLMENT_CREATED, [i for i, _ in enrolled], now=now)
    detail: dict[str, object] = {"source": source.value}
    if placement.rule_id is not None:
        detail["rule_id"] = placement.rule_id
    if placement.period:
        detail["period"] = placement.period
    await audit.record_many(
        session,
        organisation_id=organisation_id,
        action=f"enrol.{Outcome.ENROLLED.value}",
        actor=by,
        actor_user_ids=[u for _, u in enrolled],
        item_id=item_id,
        **detail,
    )
    return enrolled


async def _insert_new(
    session: AsyncSession,
    item_id: int,
    who: Subquery,
    source: EnrolmentSource,
    placement: Placement,
    now: datetime,
) -> list[tuple[int, int]]:
    """New enrolments for those of `who` with no open one in the item and none this period."""
    table = Enrolment.__table__
    # NOT IN, not a correlated NOT EXISTS: the set of people who hold one is read once, before
    # the insert. PostgreSQL planned NOT EXISTS against an enrolment table its statistics
    # called empty as a nested loop scanning the table, the rows this very statement inserts
    # included: 100,000 people took minutes. NOT IN is a hash of that set, when it fits in
    # work_mem: room for a million people, for this transaction only.
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL work_mem = '64MB'"))
    held = select(table.c.user_id).where(
        table.c.item_id == item_id,
        (table.c.status == EnrolmentStatus.ENROLLED.value) | (table.c.period == placement.period),
    )
    constants = {
        "item_id": item_id,
        "period": placement.period,
        "status": EnrolmentStatus.ENROLLED.value,
        "source": source.value,
        "enrolled_at": now,
        "updated_at": now,
        "required": placement.required,
        "reason": placement.reason,
        "due_at": placement.due_at,
        "visible_from": placement.visible_from,
        "rule_id": placement.rule_id,
        "enrolled_by_user_id": placement.enrolled_by_user_id,
    }
    rows = select(
        who.c.id, *(literal(v, table.c[k].type).label(k) for k, v in constants.items())
    ).where(who.c.id.not_in(held))
    made = await insert_from_select(
        session, table, ["user_id", *constants], rows, returning=("id", "user_id")
    )
    return [(int(i), int(u)) for i, u in made]


async def _reinstate_many(
    session: AsyncSession,
    item_id: int,
    who: Subquery,
    source: EnrolmentSource,
    placement: Placement,
    now: datetime,
) -> list[tuple[int, int]]:
    """Withdrawn enrolments of this period, of people with no open one, enrolled again."""
    table = Enrolment.__table__
    other = table.alias("open_elsewhere")
    statement = (
        update(table)
        .where(
            table.c.item_id == item_id,
            table.c.period == placement.period,
            table.c.status == EnrolmentStatus.WITHDRAWN.value,
            table.c.user_id.in_(select(who.c.id)),
            ~select(other.c.id)
            .where(
                other.c.user_id == table.c.user_id,
                other.c.item_id == item_id,
                other.c.status == EnrolmentStatus.ENROLLED.value,
            )
            .exists(),
        )
        .values(
            status=EnrolmentStatus.ENROLLED.value,
            withdrawn_at=None,
            enrolled_at=now,
            updated_at=now,
            source=source.value,
            rule_id=placement.rule_id,
            required=placement.required,
            reason=placement.reason,
            due_at=placement.due_at,
            visible_from=placement.visible_from,
            enrolled_by_user_id=placement.enrolled_by_user_id,
        )
        .returning(table.c.id, table.c.user_id)
    )
    return [(int(i), int(u)) for i, u in await session.execute(statement)]
