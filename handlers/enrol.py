"""Enrolments: `enrol`, the one way in whatever the source, and `enrol_with_token`, a click on
an Enrol button or a deep link on any platform (check the token, identify the person, enrol).

One transaction: identify the person, check the token, enrol once, audit.
Retries of the same click (Slack re-sends, double clicks) find the enrolment already there,
because the database's unique key on (user, item, period) decides, not a prior read. A click
counts for the person's current period (their latest; 0 when they have none).

`enrol_many` is the same way in for many people at once (rules, bulk enrolment): one
insert-select with conflict handling and one set-based audit insert, never a loop per person.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, Select, Subquery, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import alerts, audit, events
from handlers.identity import Account, ProfileLookup, identify
from handlers.links import LinkState, check_token
from handlers.signing import LinkSigner
from store.models import (
    CatalogItem,
    Enrolment,
    EnrolmentLink,
    EnrolmentSource,
    EnrolmentStatus,
    Identity,
    Organisation,
    RegistrationToken,
    User,
    UserType,
    utcnow,
)
from store.upsert import insert_from_select, insert_in_current_period


class Outcome(enum.StrEnum):
    ENROLLED = "enrolled"
    ALREADY_ENROLLED = "already_enrolled"
    ALREADY_COMPLETED = "already_completed"
    # the link
    LINK_UNKNOWN = "link_unknown"
    LINK_TAMPERED = "link_tampered"
    LINK_EXPIRED = "link_expired"
    LINK_DELETED = "link_deleted"
    LINK_DISABLED = "link_disabled"
    WRONG_ORGANISATION = "wrong_organisation"
    # the person
    GUEST = "guest"
    EXTERNAL = "external"
    BOT = "bot"
    ACCOUNT_DEACTIVATED = "account_deactivated"
    NO_EMAIL = "no_email"
    NO_USER = "no_user"
    USER_DEACTIVATED = "user_deactivated"
    PROSPECT = "prospect"  # registered through a token: internal links are not for them

    @property
    def enrolled(self) -> bool:
        return self is Outcome.ENROLLED


LINK_OUTCOME = {
    LinkState.UNKNOWN: Outcome.LINK_UNKNOWN,
    LinkState.TAMPERED: Outcome.LINK_TAMPERED,
    LinkState.EXPIRED: Outcome.LINK_EXPIRED,
    LinkState.DELETED: Outcome.LINK_DELETED,
    LinkState.DISABLED: Outcome.LINK_DISABLED,
    LinkState.WRONG_ORGANISATION: Outcome.WRONG_ORGANISATION,
}


# Ways in where people enrol themselves: the channels subscribed to the item hear of them.
SELF_SERVICE = frozenset({EnrolmentSource.LINK, EnrolmentSource.REGISTRATION})


@dataclass(frozen=True)
class EnrolResult:
    outcome: Outcome
    item: CatalogItem | None = None
    link: EnrolmentLink | None = None
    user: User | None = None
    email: str | None = None


async def enrol_with_token(
    session: AsyncSession,
    *,
    signer: LinkSigner,
    organisation: Organisation,
    token: str,
    account: Account,
    lookup: ProfileLookup,
    bootstrap_admins: frozenset[str] = frozenset(),
    channel: str | None = None,
) -> EnrolResult:
    """Enrol the account's person through the link in `token`; the caller commits."""
    check = await check_token(session, signer, token, organisation.id)
    if check.state is not LinkState.OK:
        result = EnrolResult(LINK_OUTCOME[check.state], check.item)
        await _audit(session, organisation, account, result, check.link_id, None, channel)
        return result
    link, item = check.link, check.item
    assert link is not None and item is not None
    person = await identify(
        session, organisation, account, lookup, bootstrap_admins=bootstrap_admins
    )
    if person.refusal is not None:
        result = EnrolResult(Outcome(person.refusal.value), item, link, person.user, person.email)
        await _audit(session, organisation, account, result, link.id, person.user, channel)
        return result
    user = person.user
    assert user is not None
    if user.type is UserType.PROSPECT:
        # Prospects are kept apart from staff and clients' self-enrolment (seed 001).
        result = EnrolResult(Outcome.PROSPECT, item, link, user, user.email)
        await _audit(session, organisation, account, result, link.id, user, channel)
        return result
    outcome = await enrol(
        session,
        organisation=organisation,
        user=user,
        item=item,
        source=EnrolmentSource.LINK,
        by=str(account),
        link=link,
        channel=channel,
    )
    return EnrolResult(outcome, item, link, user, user.email)


async def enrol(
    session: AsyncSession,
    *,
    organisation: Organisation,
    user: User,
    item: CatalogItem,
    source: EnrolmentSource,
    by: str,
    by_user_id: int | None = None,
    link: EnrolmentLink | None = None,
    channel: str | None = None,
    registration_token_id: int | None = None,
) -> Outcome:
    """The one way in: enrol `user` in `item` once, saying how (`source`) and who or what caused
    it (`by`: an account or a tool; `by_user_id`: the portal user behind it, the person
    themselves when not given; `registration_token_id`: the self-registration token it came
    through). Writes the enrolment, its audit row and, for self-enrolments,
    the alerts; the caller commits. Someone already enrolled, or who completed the item, is
    left as they are."""
    now = utcnow()
    new_id = await insert_in_current_period(
        session,
        {
            "user_id": user.id,
            "item_id": item.id,
            "status": EnrolmentStatus.ENROLLED,
            "link_id": link.id if link else None,
            "registration_token_id": registration_token_id,
            "source": source,
            "enrolled_at": now,
            "updated_at": now,
        },
    )
    if new_id is None:
        current = (await session.execute(_current(user.id, item.id))).one()
        new_id = await _enrol_again(session, current, source, link, now)
    if new_id is not None:
        await events.enrolments(session, events.ENROLMENT_CREATED, [new_id], now=now)
        way_in = await _way_in(session, link, registration_token_id)
        if source in SELF_SERVICE and way_in is not None:
            await alerts.enqueue_self_enrolment(session, organisation, user, item, way_in, now)
        outcome = Outcome.ENROLLED
    else:
        outcome = _already(current.status)
    detail = _detail(source, channel, registration_token_id)
    await audit.record(
        session,
        organisation_id=organisation.id,
        action=f"enrol.{outcome.value}",
        actor=by,
        actor_user_id=by_user_id if by_user_id is not None else user.id,
        item_id=item.id,
        link_id=link.id if link else None,
        **detail,
    )
    return outcome


async def _enrol_again(
    session: AsyncSession,
    current: Row,
    source: EnrolmentSource,
    link: EnrolmentLink | None,
    now: datetime,
) -> int | None:
    """A withdrawn enrolment of the current period enrolled again becomes current, saying how
    this time; its id, or None when the enrolment there is current or completed (the person is
    left as they are)."""
    if current.status != EnrolmentStatus.WITHDRAWN:
        return None
    statement = (
        update(Enrolment)
        .where(Enrolment.id == current.id, Enrolment.status == EnrolmentStatus.WITHDRAWN)
        .values(
            status=EnrolmentStatus.ENROLLED,
            source=source,
            link_id=link.id if link else None,
            enrolled_at=now,
            withdrawn_at=None,
            updated_at=now,
        )
        .returning(Enrolment.id)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(statement)).scalar_one_or_none()


def _detail(
    source: EnrolmentSource, channel: str | None, registration_token_id: int | None
) -> dict[str, object]:
    """An enrolment's audit detail beyond its columns: how, where, through which token."""
    detail: dict[str, object] = {} if source is EnrolmentSource.LINK else {"source": source.value}
    if channel:
        detail["channel"] = channel
    if registration_token_id is not None:
        detail["registration_token_id"] = registration_token_id
    return detail


async def _way_in(
    session: AsyncSession, link: EnrolmentLink | None, registration_token_id: int | None
) -> EnrolmentLink | RegistrationToken | None:
    """The link or registration token a self-enrolment came through (the token is already in
    the session's identity map: the registration just checked it)."""
    if link is not None or registration_token_id is None:
        return link
    return await session.get(RegistrationToken, registration_token_id)


def current_enrolment(user_id: int, item_id: int) -> Select:
    """The id of the person's enrolment in the item's current (latest) period."""
    return _current(user_id, item_id).with_only_columns(Enrolment.id)


def _current(user_id: int, item_id: int) -> Select:
    """The person's enrolment in the item's current (latest) period."""
    return (
        select(Enrolment.id, Enrolment.status)
        .where(Enrolment.user_id == user_id, Enrolment.item_id == item_id)
        .order_by(Enrolment.period.desc())
        .limit(1)
    )


def _already(status: EnrolmentStatus) -> Outcome:
    """What an enrolment that is already there means for the person asking again."""
    if status == EnrolmentStatus.COMPLETED:
        return Outcome.ALREADY_COMPLETED
    return Outcome.ALREADY_ENROLLED


async def _audit(
    session: AsyncSession,
    organisation: Organisation,
    account: Account,
    result: EnrolResult,
    link_id: int | None,
    user: User | None,
    channel: str | None,
) -> None:
    detail = {"channel": channel} if channel else {}
    await audit.record(
        session,
        organisation_id=organisation.id,
        action=f"enrol.{result.outcome.value}",
        actor=str(account),
        actor_user_id=user.id if user else None,
        item_id=result.item.id if result.item else None,
        link_id=link_id,
        **detail,
    )


async def state_of(
    session: AsyncSession,
    *,
    signer: LinkSigner,
    organisation: Organisation,
    token: str,
    account: Account,
) -> EnrolResult | None:
    """A known person's enrolment in the token's item, without changing anything: for platforms
    that show each person their own state on a shared message. None when there is nothing to
    show (an unknown person, or not enrolled)."""
    check = await check_token(session, signer, token, organisation.id)
    if check.state is not LinkState.OK or check.item is None:
        return None
    row = (
        await session.execute(
            select(Enrolment.status, User)
            .join(User, User.id == Enrolment.user_id)
            .join(Identity, Identity.user_id == User.id)
            .where(
                Enrolment.item_id == check.item.id,
                Identity.provider == account.provider,
                Identity.tenant_key == account.tenant_key,
                Identity.subject == account.subject,
            )
            .order_by(Enrolment.period.desc())
            .limit(1)
        )
    ).first()
    if row is None or row[0] == EnrolmentStatus.WITHDRAWN:
        return None
    status, user = row
    return EnrolResult(_already(status), check.item, check.link, user, user.email)


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
    now = now or utcnow()
    table = Enrolment.__table__
    who = people.subquery("who")
    reinstated = await _reinstate_many(session, item_id, who, source, placement, now)
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
    enrolled = reinstated + [(int(i), int(u)) for i, u in made]
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
