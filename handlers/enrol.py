"""Enrolments: `enrol`, the one way in whatever the source, and `enrol_with_token`, a click on
an Enrol button or a deep link on any platform (check the token, identify the person, enrol).

One transaction: identify the person, check the token, enrol once, audit.
Retries of the same click (Slack re-sends, double clicks) find the enrolment already there,
because the database's unique key on (user, item, period) decides, not a prior read. A click
counts for the person's current period (their latest; 0 when they have none).

`enrol_many` (handlers/enrol_many.py, re-exported here) is the same way in for many people at
once (rules, bulk enrolment): one insert-select with conflict handling and one set-based audit
insert, never a loop per person.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import alerts, audit, events
from handlers.enrol_many import Placement as Placement  # re-exported: the callers' one way in
from handlers.enrol_many import enrol_many as enrol_many
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
from store.upsert import insert_in_current_period


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
            visible_from=None,  # asked for now: one withdrawn while made ahead shows at once
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
