"""What a person asked not to be reminded of: one item, or everything (item_id NULL)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, utcnow


class ReminderMute(Base):
    __tablename__ = "reminder_mute"
    __table_args__ = (
        # One mute per person and item, and one "all" per person, even with two clicks racing.
        Index(
            "uq_reminder_mute_item",
            "user_id",
            "item_id",
            unique=True,
            sqlite_where=text("item_id IS NOT NULL"),
            postgresql_where=text("item_id IS NOT NULL"),
        ),
        Index(
            "uq_reminder_mute_all",
            "user_id",
            unique=True,
            sqlite_where=text("item_id IS NULL"),
            postgresql_where=text("item_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_item.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
