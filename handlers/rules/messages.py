"""Telling people what rules did, through the outbox, in the transaction that did it.

Learners: one outbox row per enrolment a rule made or withdrew, written by one insert-select
from the enrolment rows just changed (so a rule over 100,000 people is one statement), to the
person's direct messages: Slack first, else Teams, else email. The outbox sends a destination's
due rows of one kind as one message, so what one change gave a person (several items, several
rules) reaches them as one message, at the platforms' pace, and survives restarts. A hidden
enrolment (--enrol-days-before) is told when it shows; one withdrawn or completed before its
day is never told as enrolled (`unsay`), and one withdrawn while hidden is not told it was
withdrawn. Off when the organisation says so.

Admins: the person who made a rule gets one notice for each run of it that changed something.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, String, cast, delete, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.alert_message import NOTICE
from handlers.rules.telling import ENROLLED, LEARNER, WITHDRAWN
from handlers.rules.wording import run_summary
from store.expressions import json_object
from store.models import (
    CatalogItem,
    Enrolment,
    EnrolmentRule,
    EnrolmentStatus,
    Identity,
    Organisation,
    OutboxMessage,
    OutboxStatus,
    User,
    UserStatus,
)
from store.models.base import UTCDateTime
from store.upsert import insert_from_select

SUMMARY_NAMES = 20  # people an admin's summary names
CHUNK = 500  # enrolment ids per statement


def _chat(provider: str, user_id: ColumnElement, prefix: str) -> ColumnElement:
    """The person's direct messages on one platform as destination text, or NULL."""
    target = (
        literal(f"{provider}:") + Identity.tenant_key + literal(f":{prefix}") + Identity.subject
    )
    return (
        select(target)
        .where(Identity.user_id == user_id, Identity.provider == provider)
        .order_by(Identity.id)
        .limit(1)
        .scalar_subquery()
    )


def destination_of(user_id: ColumnElement, email: ColumnElement) -> ColumnElement:
    """Where a person's direct messages go (handlers.destinations' text), in SQL: their Slack
    DM, else their Teams personal chat (by Entra object id), else their email address."""
    return func.coalesce(
        _chat("slack", user_id, ""),
        _chat("teams", user_id, "dm:"),
        literal("email:") + func.lower(email),
    )


async def tell_learners(
    session: AsyncSession,
    *,
    rule: EnrolmentRule,
    action: str,
    at: datetime,
) -> int:
    """One learner row per enrolment `rule` made (action "enrolled") or withdrew ("withdrawn")
    at `at`, set-based; nothing when the organisation turned rule messages off. Rows written."""
    e = Enrolment.__table__
    switched_on = (
        select(Organisation.rule_messages)
        .where(Organisation.id == rule.organisation_id)
        .scalar_subquery()
        .is_(True)
    )
    return await _write(
        session,
        rule.organisation_id,
        action,
        at,
        [e.c.rule_id == rule.id, e.c.item_id == rule.item_id, switched_on],
    )


async def tell_by_hand(
    session: AsyncSession,
    *,
    organisation_id: int,
    enrolment_ids: list[int],
    action: str,
    at: datetime,
    by: str,
    reason: str | None = None,
) -> int:
    """One learner row per enrolment someone (`by`, their name) made or withdrew by hand at
    `at`, naming them; `reason` is the withdrawal's (an enrolment's own reason otherwise).
    Set-based, in chunks of ids. Rows written."""
    e, made = Enrolment.__table__, 0
    for start in range(0, len(enrolment_ids), CHUNK):
        chunk = enrolment_ids[start : start + CHUNK]
        made += await _write(
            session, organisation_id, action, at, [e.c.id.in_(chunk)], by=by, reason=reason
        )
    return made


async def _write(
    session: AsyncSession,
    organisation_id: int,
    action: str,
    at: datetime,
    conditions: list[ColumnElement],
    *,
    by: str | None = None,
    reason: str | None = None,
) -> int:
    """The learner rows of the enrolments `conditions` pick that changed to `action` at `at`,
    by one insert-select."""
    e, item, person = Enrolment.__table__, CatalogItem.__table__, User.__table__
    if action == ENROLLED:
        changed = [e.c.status == EnrolmentStatus.ENROLLED.value, e.c.enrolled_at == at]
        when = func.coalesce(e.c.visible_from, literal(at, UTCDateTime()))
    else:
        changed = [
            e.c.status == EnrolmentStatus.WITHDRAWN.value,
            e.c.withdrawn_at == at,
            # Withdrawn while hidden: the learner never saw it, so there is nothing to take back.
            or_(e.c.visible_from.is_(None), e.c.visible_from <= at),
        ]
        when = literal(at, UTCDateTime())
    extra = {} if by is None else {"by": literal(by)}
    payload = json_object(
        session.get_bind().dialect.name,
        action=literal(action),
        enrolment_id=e.c.id,
        title=item.c.title,
        url=item.c.url,
        required=e.c.required,
        reason=e.c.reason if reason is None else literal(reason),
        due_at=cast(e.c.due_at, String),
        **extra,
    )
    rows = (
        select(
            literal(organisation_id).label("organisation_id"),
            literal(LEARNER).label("kind"),
            destination_of(person.c.id, person.c.email).label("destination"),
            payload.label("payload"),
            literal(OutboxStatus.PENDING.value).label("status"),
            literal(0).label("attempts"),
            when.label("not_before"),
            literal(at, UTCDateTime()).label("created_at"),
        )
        .select_from(
            e.join(item, item.c.id == e.c.item_id).join(person, person.c.id == e.c.user_id)
        )
        .where(*conditions, *changed, person.c.status == UserStatus.ACTIVE.value)
    )
    columns = [c.name for c in rows.selected_columns]  # the labels above, in their order
    made = await insert_from_select(
        session, OutboxMessage.__table__, columns, rows, returning=("id",)
    )
    return len(made)


async def unsay(session: AsyncSession, enrolment_ids: list[int]) -> int:
    """Drop the learner rows still waiting to tell of these enrolments: ones made ahead that
    will not show as they were told (withdrawn, or completed, before their day). Rows dropped."""
    told_of = OutboxMessage.payload["enrolment_id"].as_integer()
    dropped = 0
    for start in range(0, len(enrolment_ids), CHUNK):
        result = await session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.kind == LEARNER,
                OutboxMessage.status == OutboxStatus.PENDING,
                told_of.in_(enrolment_ids[start : start + CHUNK]),
            )
        )
        dropped += result.rowcount or 0
    return dropped


async def summarise_run(
    session: AsyncSession,
    rule: EnrolmentRule,
    enrolled: list[int],
    withdrawn: list[int],
    at: datetime,
) -> bool:
    """One notice to whoever made the rule about a run that changed something: the counts, and
    who (up to SUMMARY_NAMES). False when there was nothing to say or no one to tell."""
    if not (enrolled or withdrawn) or rule.created_by_user_id is None:
        return False
    maker = await session.get(User, rule.created_by_user_id)
    if maker is None or maker.status is not UserStatus.ACTIVE:
        return False
    item = await session.get(CatalogItem, rule.item_id)
    names = await _names(session, (enrolled + withdrawn)[:SUMMARY_NAMES])
    title, slug = (item.title, item.slug) if item else ("", "")
    text = run_summary(rule.id, title, slug, len(enrolled), len(withdrawn), names)
    where = await session.scalar(select(destination_of(literal(maker.id), literal(maker.email))))
    session.add(
        OutboxMessage(
            organisation_id=rule.organisation_id,
            kind=NOTICE,
            destination=where,
            payload={"text": text, "subject": f"enrolbot: rule {rule.id}"},
            not_before=at,
            attempts=0,
        )
    )
    return True


async def _names(session: AsyncSession, user_ids: list[int]) -> list[str]:
    if not user_ids:
        return []
    rows = await session.execute(select(User).where(User.id.in_(user_ids)))
    by_id = {u.id: u.full_name for u in rows.scalars()}
    return [by_id[i] for i in user_ids if i in by_id]


__all__ = [
    "ENROLLED",
    "LEARNER",
    "WITHDRAWN",
    "destination_of",
    "summarise_run",
    "tell_by_hand",
    "tell_learners",
    "unsay",
]
