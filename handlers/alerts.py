"""Self-enrolment alerts: the outbox rows a self-enrolment leaves for the channels and inboxes
subscribed to its item (handlers.subscriptions keeps who subscribed where).

An external enrolment (someone registering with a self-registration token) reaches the same
subscriptions, marked external and naming the token. The primary admin's inbox hears of internal
self-enrolments always; of external ones only where the item's own option is on, and then so do
the stakeholders it names (seed 001; handlers.subscriptions keeps the option).

The rows are written in the enrolment's own transaction, so an alert exists exactly when the
enrolment does; handlers.outbox delivers them later.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.alert_message import ALERT, DIGEST_PREFIX, NOTICE
from handlers.destinations import Destination
from handlers.subscriptions import external_email, external_recipients
from store.models import (
    CatalogItem,
    DigestMode,
    EnrolmentLink,
    NotificationSubscription,
    Organisation,
    OutboxMessage,
    RegistrationToken,
    User,
    utcnow,
)


def channel_destination(provider: str, tenant_key: str, channel_id: str) -> str:
    return str(Destination.channel(provider, tenant_key, channel_id))


def email_destination(address: str) -> str:
    return str(Destination.email(address))


def kind_for(mode: DigestMode) -> str:
    return ALERT if mode is DigestMode.INSTANT else f"{DIGEST_PREFIX}{mode.value}"


def period_end(mode: DigestMode, at: datetime) -> datetime:
    """When the digest holding an enrolment made at `at` is due: the next hour or midnight, UTC."""
    if mode is DigestMode.HOURLY:
        return at.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    if mode is DigestMode.DAILY:
        return at.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return at


def token_name(token: RegistrationToken) -> str:
    """A registration token as an alert names it: its nickname, quoted, or t3 without one (as
    `token list` shows it)."""
    return f"“{token.nickname}”" if token.nickname else f"t{token.id}"


def facts(
    user: User,
    item: CatalogItem,
    way_in: EnrolmentLink | RegistrationToken,
    at: datetime,
) -> dict:
    """What an alert says, kept as plain data so each platform can render it its own way.
    `way_in` is the link clicked, or the token an outsider registered with (external)."""
    common = {
        "person": user.full_name,
        "email": user.email,
        "user_type": user.type.value,
        "item": item.title,
        "slug": item.slug,
        "at": at.isoformat(),
    }
    if isinstance(way_in, RegistrationToken):
        return common | {"token_id": way_in.id, "link": token_name(way_in), "external": True}
    link = way_in
    return common | {
        "link_id": link.id,
        "link": link.label or ("default link" if link.is_default else f"link {link.id}"),
    }


# Built once, on the table: every enrolment asks it, and reads a few columns of what it finds.
_SUBSCRIPTION = NotificationSubscription.__table__.c
_SUBSCRIBED = select(
    _SUBSCRIPTION.provider,
    _SUBSCRIPTION.tenant_key,
    _SUBSCRIPTION.channel_id,
    _SUBSCRIPTION.email,
    _SUBSCRIPTION.mode,
).where(
    _SUBSCRIPTION.organisation_id == bindparam("organisation_id"),
    _SUBSCRIPTION.disabled_at.is_(None),
    or_(_SUBSCRIPTION.item_id == bindparam("item_id"), _SUBSCRIPTION.item_id.is_(None)),
)


async def enqueue_self_enrolment(
    session: AsyncSession,
    organisation: Organisation,
    user: User,
    item: CatalogItem,
    way_in: EnrolmentLink | RegistrationToken,
    at: datetime,
) -> int:
    """Outbox rows for every subscribed channel and inbox, and the primary admin's inbox; one
    row per destination even when both the item and "all" are subscribed there. `way_in` is
    the link clicked, or the registration token of an external enrolment."""
    subscriptions = await session.execute(
        _SUBSCRIBED, {"organisation_id": organisation.id, "item_id": item.id}
    )
    wanted: dict[str, DigestMode] = {}
    for sub in subscriptions:
        if sub.channel_id:
            destination = channel_destination(
                sub.provider or "", sub.tenant_key or "", sub.channel_id
            )
        else:
            destination = email_destination(sub.email or "")
        # Where both an instant and a digest subscription cover the item, instant wins.
        if wanted.get(destination) is not DigestMode.INSTANT:
            wanted[destination] = sub.mode
    if isinstance(way_in, RegistrationToken):
        # Seed 001: an email for each external enrolment, where the item's option is on.
        setting = await external_email(session, item.id)
        for address in external_recipients(setting, organisation.primary_admin_email):
            wanted[email_destination(address)] = DigestMode.INSTANT
    elif organisation.primary_admin_email:
        wanted[email_destination(organisation.primary_admin_email)] = DigestMode.INSTANT
    payload = facts(user, item, way_in, at)
    for destination, mode in wanted.items():
        session.add(
            OutboxMessage(
                organisation_id=organisation.id,
                kind=kind_for(mode),
                destination=destination,
                payload=payload,
                not_before=period_end(mode, at),
                attempts=0,
            )
        )
    return len(wanted)


async def enqueue_admin_news(
    session: AsyncSession, organisation: Organisation, text: str, subject: str
) -> int:
    """A notice of news about people rather than an item (an invitation accepted, someone who
    joined through the join page) to every destination subscribed to all items, and the primary
    admin's inbox; as the enrolment's alerts, in the change's transaction."""
    rows = await session.execute(
        select(
            _SUBSCRIPTION.provider,
            _SUBSCRIPTION.tenant_key,
            _SUBSCRIPTION.channel_id,
            _SUBSCRIPTION.email,
        ).where(
            _SUBSCRIPTION.organisation_id == organisation.id,
            _SUBSCRIPTION.disabled_at.is_(None),
            _SUBSCRIPTION.item_id.is_(None),
        )
    )
    wanted = {
        channel_destination(r.provider or "", r.tenant_key or "", r.channel_id)
        if r.channel_id
        else email_destination(r.email or "")
        for r in rows
    }
    if organisation.primary_admin_email:
        wanted.add(email_destination(organisation.primary_admin_email))
    now = utcnow()
    for destination in sorted(wanted):
        session.add(
            OutboxMessage(
                organisation_id=organisation.id,
                kind=NOTICE,
                destination=destination,
                payload={"text": text, "subject": subject},
                not_before=now,
                attempts=0,
            )
        )
    return len(wanted)
