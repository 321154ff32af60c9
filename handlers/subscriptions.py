"""Who asked for self-enrolment alerts, where, and how often: the rows `notify` reads and writes.

A subscription is for one item or, with no item, for every item; it goes to a chat channel
(provider, tenant, channel id) or to an email address. handlers.alerts reads the same rows when
someone enrols, to know where the alert goes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import CatalogItem, DigestMode, NotificationSubscription


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
