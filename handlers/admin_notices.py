"""What the outbox tells the admins who subscribed a destination when delivering to it fails
for good: the destination is gone (its alerts stop), or one message was refused (only that one
is dropped). Each is a notice row in the outbox, written in the delivery's own transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.alert_message import NOTICE
from handlers.destinations import Destination
from store.models import (
    AdminGrant,
    Identity,
    NotificationSubscription,
    OutboxMessage,
    OutboxStatus,
    User,
    UserStatus,
)


def _subscribed(destination: Destination):  # an SQL condition
    sub = NotificationSubscription
    if destination.is_email:
        return sub.email == destination.target
    return (
        (sub.provider == destination.platform)
        & (sub.tenant_key == destination.tenant)
        & (sub.channel_id == destination.target)
    )


def _where(sub: NotificationSubscription) -> str:
    return f"#{sub.channel_name}" if sub.channel_name else (sub.email or "a channel")


async def _active(session: AsyncSession, destination: Destination) -> list:
    rows = await session.execute(
        select(NotificationSubscription).where(
            _subscribed(destination), NotificationSubscription.disabled_at.is_(None)
        )
    )
    return list(rows.scalars())


def _tell(session: AsyncSession, sub: NotificationSubscription, text: str, now: datetime) -> None:
    session.add(
        OutboxMessage(
            organisation_id=sub.organisation_id,
            kind=NOTICE,
            destination=sub.admin_destination,
            payload={"text": text},
            not_before=now,
            attempts=0,
        )
    )


async def destination_gone(
    session: AsyncSession, destination: Destination, reason: str, now: datetime
) -> None:
    """Stop alerting a destination that can no longer take messages, fail what waits for it,
    and tell each admin who subscribed it, once."""
    subscriptions = await _active(session, destination)
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.destination == str(destination),
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.kind != NOTICE,
        )
        .values(status=OutboxStatus.FAILED, last_error=f"destination disabled: {reason}"[:500])
    )
    told: set[str] = set()
    for sub in subscriptions:
        sub.disabled_at, sub.disabled_reason = now, reason[:200]
        if sub.admin_destination and sub.admin_destination not in told:
            told.add(sub.admin_destination)
            _tell(
                session,
                sub,
                f"Self-enrolment alerts to {_where(sub)} have stopped: it no longer takes my "
                f"messages ({reason}). Subscribe another channel with `notify ITEM|all #channel`, "
                "or invite me back and subscribe it again.",
                now,
            )


async def message_refused(
    session: AsyncSession, destination: Destination, reason: str, now: datetime
) -> None:
    """Tell each admin who subscribed a destination that one of its messages was refused and
    dropped, while the destination itself keeps getting alerts."""
    told: set[str] = set()
    for sub in await _active(session, destination):
        if sub.admin_destination and sub.admin_destination not in told:
            told.add(sub.admin_destination)
            where = _where(sub)
            _tell(
                session,
                sub,
                f"A self-enrolment alert to {where} was refused ({reason}) and will not be sent "
                f"again. {where} still gets the alerts after it; the details are in enrolbot's "
                "log.",
                now,
            )


async def tell_admins(
    session: AsyncSession,
    organisation_id: int,
    text: str,
    now: datetime,
    *,
    bootstrap_admins: frozenset[str] = frozenset(),
) -> int:
    """A notice to every admin of the organisation: to their Slack direct messages and where
    they asked to hear of their subscriptions' troubles, else their Teams personal chat, else
    by email. The number of places told."""
    admins = select(AdminGrant.user_id).where(AdminGrant.organisation_id == organisation_id)
    users = list(
        (
            await session.execute(
                select(User).where(
                    User.organisation_id == organisation_id,
                    User.status == UserStatus.ACTIVE,
                    or_(User.id.in_(admins), func.lower(User.email).in_(sorted(bootstrap_admins))),
                )
            )
        ).scalars()
    )
    places = await _admin_places(session, [u.id for u in users])
    emails = {u.id: u.email for u in users}
    told: set[str] = set()
    for user_id, where in places.items():
        told.update(where or {str(Destination.email(emails[user_id]))})
    for destination in sorted(told):
        session.add(
            OutboxMessage(
                organisation_id=organisation_id,
                kind=NOTICE,
                destination=destination,
                payload={"text": text},
                not_before=now,
                attempts=0,
            )
        )
    return len(told)


async def _admin_places(session: AsyncSession, user_ids: list[int]) -> dict[int, set[str]]:
    """Where each admin can be told privately: their Slack direct messages, and where they
    asked to hear of their subscriptions' troubles (a Teams personal chat); else their Teams
    personal chat."""
    places: dict[int, set[str]] = {u: set() for u in user_ids}
    if not places:
        return places
    slack = await session.execute(
        select(Identity.user_id, Identity.tenant_key, Identity.subject).where(
            Identity.provider == "slack", Identity.user_id.in_(user_ids)
        )
    )
    for user_id, team, subject in slack:
        places[user_id].add(str(Destination.channel("slack", team, subject)))
    chats = await session.execute(
        select(
            NotificationSubscription.created_by_user_id,
            NotificationSubscription.admin_destination,
        )
        .where(
            NotificationSubscription.created_by_user_id.in_(user_ids),
            NotificationSubscription.admin_destination.is_not(None),
        )
        .distinct()
    )
    for user_id, destination in chats:
        places[user_id].add(destination)
    # Else their Teams personal chat, by Entra object id, as a learner's messages find it (an
    # admin who only uses Teams would otherwise hear only by email, or not at all).
    teams = await session.execute(
        select(Identity.user_id, Identity.tenant_key, Identity.subject)
        .where(Identity.provider == "teams", Identity.user_id.in_(user_ids))
        .order_by(Identity.id)
    )
    for user_id, tenant, subject in teams:
        if not places[user_id]:
            places[user_id].add(str(Destination.channel("teams", tenant, f"dm:{subject}")))
    return places
