"""Who asked for self-enrolment alerts, where, and how often: the rows `notify` reads and writes.

A subscription is for one item or, with no item, for every item; it goes to a chat channel
(provider, tenant, channel id) or to an email address. handlers.alerts reads the same rows when
someone enrols, to know where the alert goes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import (
    CatalogItem,
    DigestMode,
    ExternalEnrolmentEmail,
    NotificationSubscription,
    utcnow,
)


@dataclass(frozen=True)
class Where:
    """A subscription's destination: a chat channel, or else an email address."""

    provider: str | None = None
    tenant_key: str | None = None
    channel_id: str | None = None
    email: str | None = None

    @property
    def columns(self) -> dict[str, str]:
        if self.email is not None:
            return {"email": self.email.lower()}
        return {
            "provider": self.provider or "",
            "tenant_key": self.tenant_key or "",
            "channel_id": self.channel_id or "",
        }


async def find(
    session: AsyncSession, organisation_id: int, item_id: int | None, where: Where
) -> NotificationSubscription | None:
    """The subscription of this item (None: of every item) at this destination, if there is one."""
    columns = NotificationSubscription.__table__.c
    conditions = [
        NotificationSubscription.organisation_id == organisation_id,
        NotificationSubscription.item_id.is_(None)
        if item_id is None
        else NotificationSubscription.item_id == item_id,
        *(columns[name] == value for name, value in where.columns.items()),
    ]
    return (await session.execute(select(NotificationSubscription).where(*conditions))).scalar()


async def of_channel(
    session: AsyncSession, organisation_id: int, channel: Where
) -> list[tuple[NotificationSubscription, CatalogItem | None]]:
    """A channel's subscriptions, and the email ones, with their items (None: every item)."""
    rows = await session.execute(
        select(NotificationSubscription, CatalogItem)
        .outerjoin(CatalogItem, CatalogItem.id == NotificationSubscription.item_id)
        .where(
            NotificationSubscription.organisation_id == organisation_id,
            or_(
                (NotificationSubscription.provider == channel.provider)
                & (NotificationSubscription.tenant_key == channel.tenant_key)
                & (NotificationSubscription.channel_id == channel.channel_id),
                NotificationSubscription.email.is_not(None),
            ),
        )
        .order_by(NotificationSubscription.id)
    )
    return [(sub, item) for sub, item in rows]


def is_current(sub: NotificationSubscription | None, mode: DigestMode) -> bool:
    """Whether the subscription already delivers in this mode, so subscribing changes nothing."""
    return sub is not None and sub.disabled_at is None and sub.mode == mode


async def subscribe(
    session: AsyncSession,
    organisation_id: int,
    item_id: int | None,
    where: Where,
    *,
    mode: DigestMode,
    channel_name: str | None,
    created_by_user_id: int,
    admin_destination: str | None,
) -> NotificationSubscription:
    """Start (or restart, after a channel stopped taking them) alerts at a destination."""
    sub = await find(session, organisation_id, item_id, where)
    if sub is None:
        sub = NotificationSubscription(
            organisation_id=organisation_id, item_id=item_id, **where.columns
        )
        session.add(sub)
    sub.mode = mode
    sub.channel_name = channel_name if where.channel_id else None
    sub.created_by_user_id = created_by_user_id
    sub.admin_destination = admin_destination
    sub.disabled_at = sub.disabled_reason = None
    await session.flush()
    return sub


async def unsubscribe(
    session: AsyncSession, organisation_id: int, item_id: int | None, where: Where
) -> bool:
    """Stop alerts at a destination; False when there were none."""
    sub = await find(session, organisation_id, item_id, where)
    if sub is None:
        return False
    await session.delete(sub)
    await session.flush()
    return True


# Seed 001's admin notification per external enrolment ------------------------------------------


async def external_email(session: AsyncSession, item_id: int) -> ExternalEnrolmentEmail | None:
    """The item's option for emails about external enrolments, if it was ever set."""
    return await session.get(ExternalEnrolmentEmail, item_id)


def external_recipients(
    setting: ExternalEnrolmentEmail | None, primary_admin_email: str | None
) -> list[str]:
    """Who gets an email for each external enrolment: nobody while the option is off; else the
    primary admin and the stakeholders, each once."""
    if setting is None or not setting.is_on:
        return []
    found = [primary_admin_email.lower()] if primary_admin_email else []
    return list(dict.fromkeys(found + list(setting.stakeholders or [])))


async def set_external_email(
    session: AsyncSession,
    item: CatalogItem,
    *,
    on: bool | None,
    add: list[str] = (),  # type: ignore[assignment]
    remove: list[str] = (),  # type: ignore[assignment]
    by_user_id: int | None,
) -> ExternalEnrolmentEmail:
    """Turn the option on or off (None: leave it), nominate or drop stakeholders (lower-cased
    addresses); the caller commits."""
    setting = await external_email(session, item.id)
    if setting is None:
        setting = ExternalEnrolmentEmail(
            item_id=item.id, organisation_id=item.organisation_id, is_on=False, stakeholders=[]
        )
        session.add(setting)
    if on is not None:
        setting.is_on = on
    kept = [a for a in setting.stakeholders or [] if a not in remove]
    # A new list, so the JSON column is seen to change.
    setting.stakeholders = list(dict.fromkeys(kept + [a for a in add if a not in kept]))
    setting.updated_by_user_id = by_user_id
    setting.updated_at = utcnow()
    await session.flush()
    return setting


async def external_emails_on(
    session: AsyncSession, organisation_id: int
) -> list[tuple[ExternalEnrolmentEmail, CatalogItem]]:
    """The items whose external enrolments are emailed, with their settings."""
    rows = await session.execute(
        select(ExternalEnrolmentEmail, CatalogItem)
        .join(CatalogItem, CatalogItem.id == ExternalEnrolmentEmail.item_id)
        .where(
            ExternalEnrolmentEmail.organisation_id == organisation_id,
            ExternalEnrolmentEmail.is_on.is_(True),
        )
        .order_by(CatalogItem.title)
    )
    return [(setting, item) for setting, item in rows]
