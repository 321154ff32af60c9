"""`why`: how a person came to be enrolled in an item, from the enrolment row (its source,
rule, link, token, dates and period), the audit trail, the rule's criteria, and the
directory's change rows (which membership or attribute made them match, from which source,
on which day). Sentences only; the command decides who may ask."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.replies import echo
from handlers.rules import wording
from handlers.rules.criteria import of_rule
from handlers.rules.schedule import day_of
from handlers.rules.wording import day
from store.models import (
    AuditEvent,
    CatalogItem,
    ChangeKind,
    DirectoryChange,
    Enrolment,
    EnrolmentLink,
    EnrolmentRule,
    EnrolmentSource,
    EnrolmentStatus,
    Group,
    Identity,
    RegistrationToken,
    RuleCondition,
    RuleGroup,
    User,
)

PERIODS_SHOWN = 3
# Where a directory change came from, as a person reads it.
SOURCES = {
    "scim": "Entra ID (SCIM)",
    "slack": "Slack",
    "slack_usergroup": "a Slack user group",
    "slack_channel": "a Slack channel",
    "teams_team": "a Teams team",
    "teams": "Teams",
    "file": "a directory import",
    "manual": "an admin, by hand",
    "attribute": "their profile",
}
WAYS = {
    EnrolmentSource.MANUAL: "by hand",
    EnrolmentSource.ASSIGNMENT: "by assignment",
    EnrolmentSource.IMPORT: "by an import (a spreadsheet or a completions file)",
    EnrolmentSource.INVITATION: "by invitation",
    EnrolmentSource.API: "through the API",
}


def source_name(source: str | None) -> str:
    return SOURCES.get(source or "", echo(source or "an unknown source", 60))


async def why(
    session: AsyncSession, user: User, item: CatalogItem, shown_at: datetime | None = None
) -> list[str]:
    """A sentence for each of the person's latest periods in the item (newest first); empty
    when they were never enrolled in it. With `shown_at` (the learner asking), periods made
    ahead and hidden then are left out, as My learning leaves them out."""
    query = select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.item_id == item.id)
    if shown_at is not None:
        query = query.where(
            or_(Enrolment.visible_from.is_(None), Enrolment.visible_from <= shown_at)
        )
    rows = (
        await session.execute(query.order_by(Enrolment.period.desc()).limit(PERIODS_SHOWN))
    ).scalars()
    return [await explain(session, e, user) for e in rows]


async def explain(session: AsyncSession, e: Enrolment, user: User) -> str:
    period = f" (the period of {day(day_of(e.period))})" if e.period >= 10000101 else ""
    how = await _how(session, e, user)
    text = f"Enrolled on {day(e.enrolled_at.date())}{period} {how}."
    return text + _state(e)


def _state(e: Enrolment) -> str:
    if e.status is EnrolmentStatus.COMPLETED and e.completed_at:
        return f" Completed on {day(e.completed_at.date())}."
    if e.status is EnrolmentStatus.WITHDRAWN:
        when = f" on {day(e.withdrawn_at.date())}" if e.withdrawn_at else ""
        if e.source is EnrolmentSource.RULE:
            return f" Withdrawn{when}: they stopped matching before starting it."
        return f" Withdrawn{when}."
    if e.visible_from is not None:
        return f" Hidden from them until {day(e.visible_from.date())}."
    return ""


async def _how(session: AsyncSession, e: Enrolment, user: User) -> str:
    if e.source is EnrolmentSource.RULE and e.rule_id is not None:
        return await _by_rule(session, e)
    if e.source is EnrolmentSource.LINK:
        link = await session.get(EnrolmentLink, e.link_id) if e.link_id else None
        label = f" “{echo(link.label, 80)}”" if link and link.label else ""
        name = f"link {e.link_id}{label}" if e.link_id else "a link"
        return f"by themselves, through {name}"
    if e.source is EnrolmentSource.REGISTRATION:
        token = (
            await session.get(RegistrationToken, e.registration_token_id)
            if e.registration_token_id
            else None
        )
        nick = f" “{echo(token.nickname, 80)}”" if token and token.nickname else ""
        name = f"token {e.registration_token_id}{nick}" if e.registration_token_id else "a token"
        return f"by registering with {name}"
    way = WAYS.get(e.source, echo(e.source.value))
    actor = await _actor(session, e, user)
    return f"{way}{f', by {actor}' if actor else ''}"


async def _actor(session: AsyncSession, e: Enrolment, user: User) -> str | None:
    """Who the audit names for the enrolment (within a few seconds of it): a person's name
    when the account is known, else the account or tool as recorded."""
    row = (
        await session.execute(
            select(AuditEvent.actor)
            .where(
                AuditEvent.item_id == e.item_id,
                AuditEvent.action == "enrol.enrolled",
                AuditEvent.at >= e.enrolled_at - timedelta(seconds=5),
                AuditEvent.at <= e.enrolled_at + timedelta(seconds=5),
                or_(AuditEvent.actor_user_id == user.id, AuditEvent.actor_user_id.is_(None)),
            )
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
    ).scalar()
    if row is None:
        return None
    provider, _, rest = row.partition(":")
    tenant, _, subject = rest.partition(":")
    person = await session.scalar(
        select(User)
        .join(Identity, Identity.user_id == User.id)
        .where(
            Identity.provider == provider,
            Identity.tenant_key == tenant,
            Identity.subject == subject,
        )
    )
    return echo(person.full_name, 80) if person else echo(row, 80)


async def _by_rule(session: AsyncSession, e: Enrolment) -> str:
    rule = await session.get(EnrolmentRule, e.rule_id)
    if rule is None:
        return f"by rule {e.rule_id}, since deleted"
    group_ids = list(
        await session.scalars(select(RuleGroup.group_id).where(RuleGroup.rule_id == rule.id))
    )
    where = [
        (n, v)
        for n, v in await session.execute(
            select(RuleCondition.field, RuleCondition.value).where(RuleCondition.rule_id == rule.id)
        )
    ]
    who = await wording.who(session, of_rule(rule, group_ids, where))
    terms = ["required" if e.required else "recommended"]
    if e.due_at:
        terms.append(f"due {day(e.due_at.date())}")
    state = "" if rule.active else f", now {wording.state(rule)}"
    because = await _because(session, e, rule, group_ids, [n for n, _ in where])
    return f"by rule {rule.id} ({who}, {', '.join(terms)}{state}) {because}"


async def _because(
    session: AsyncSession,
    e: Enrolment,
    rule: EnrolmentRule,
    group_ids: list[int],
    fields: list[str],
) -> str:
    """The directory change that made them match, with its source and day."""
    c = DirectoryChange
    conditions = []
    if group_ids:
        conditions.append((c.kind == ChangeKind.JOINED) & c.group_id.in_(group_ids))
    named = set(fields)
    if rule.manager_id is not None:
        named.add("manager_id")
    if rule.hired_after is not None:
        named.add("hire_date")
    if named:
        conditions.append((c.kind == ChangeKind.ATTRIBUTE) & c.field.in_(sorted(named)))
    conditions.append(c.kind.in_([ChangeKind.PERSON_ADDED, ChangeKind.REACTIVATED]))
    change = (
        await session.execute(
            select(c, Group.name, Group.kind)
            .outerjoin(Group, Group.id == c.group_id)
            .where(c.user_id == e.user_id, or_(*conditions), c.at <= _after(e.enrolled_at))
            .order_by(c.at.desc(), c.id.desc())
            .limit(1)
        )
    ).first()
    if change is None:
        return "because they matched it when it was saved" if not rule.new_only else ""
    row, name, kind = change
    when = f"from {source_name(row.source)}, on {day(row.at.date())}"
    if row.kind is ChangeKind.JOINED:
        return f"because they joined {echo(name or 'a group', 80)} ({kind.value}), {when}"
    if row.kind is ChangeKind.ATTRIBUTE:
        if row.field == "manager_id":
            return f"because their manager changed, {when}"
        value = echo(row.new or "", 80)
        return f"because their {row.field} became {value}, {when}"
    return f"because they were added to the directory, {when}"


def _after(at: datetime) -> datetime:
    return at + timedelta(seconds=1)
