"""Alerts on their way out: who subscribed where, the outbox, and each destination's lane."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, text_enum, utcnow


class DigestMode(enum.StrEnum):
    INSTANT = "instant"
    HOURLY = "hourly"
    DAILY = "daily"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class NotificationSubscription(Base):
    __tablename__ = "notification_subscription"
    __table_args__ = (
        CheckConstraint("(channel_id IS NOT NULL) OR (email IS NOT NULL)", name="has_destination"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    # Empty means every item.
    item_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_item.id"))
    provider: Mapped[str | None] = mapped_column(String(16))
    tenant_key: Mapped[str | None] = mapped_column(String(64))
    channel_id: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    channel_name: Mapped[str | None] = mapped_column(String(200))
    mode: Mapped[DigestMode] = mapped_column(
        text_enum(DigestMode, "digest_mode"), default="instant"
    )
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_user.id"))
    # Where to tell the admin who subscribed if the channel stops taking messages.
    admin_destination: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when delivery failed for good (channel archived, bot removed): no more alerts go there.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))


class ExternalEnrolmentEmail(Base):
    """Seed 001's admin notification per external enrolment, an option per item: when on, the
    primary admin and the item's nominated stakeholders get an email for each person who
    registers with one of the item's tokens. A handful of addresses, read with the item's one
    row whenever someone registers."""

    __tablename__ = "external_enrolment_email"

    item_id: Mapped[int] = mapped_column(ForeignKey("catalog_item.id"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    is_on: Mapped[bool] = mapped_column(Boolean, default=False)
    stakeholders: Mapped[list[str]] = mapped_column(JSON, default=list)  # lower-cased addresses
    updated_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeliveryLane(Base):
    """One per destination (a channel, an inbox): who is sending to it now, and when the next
    message may go. Claiming the lane with a conditional UPDATE is what keeps two workers from
    sending the same rows, and what holds a channel to one message a second."""

    __tablename__ = "delivery_lane"

    destination: Mapped[str] = mapped_column(String(400), primary_key=True)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    # When the admins were told that a message here was refused; cleared once one goes through,
    # so a run of refusals is told once.
    refusal_told_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """A message to send, written in the transaction of the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "not_before"),
        # Each lane reads its destination's due rows (handlers.outbox).
        Index("ix_outbox_lane", "destination", "status", "not_before"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[str] = mapped_column(String(32))
    destination: Mapped[str] = mapped_column(String(400))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[OutboxStatus] = mapped_column(
        text_enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
