"""What Teams needs remembered between activities: where a conversation is reached, and the
Enrol cards posted in it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, utcnow


class TeamsConversation(Base):
    """Where the bot can reach a Teams conversation later (alerts, notices): the Bot Framework
    service URL that Teams gave with the last activity from it."""

    __tablename__ = "teams_conversation"

    conversation_id: Mapped[str] = mapped_column(String(400), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    service_url: Mapped[str] = mapped_column(String(400))
    kind: Mapped[str] = mapped_column(String(16))  # personal, channel, groupChat
    # In a personal chat, whose it is (their user id in Teams, "29:...").
    user_id: Mapped[str | None] = mapped_column(String(200), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TeamsCard(Base):
    """An Enrol card posted in Teams, and whose own state it refreshes for (Universal Actions
    show each listed user their card; everyone else sees the Enrol button)."""

    __tablename__ = "teams_card"
    __table_args__ = (UniqueConstraint("conversation_id", "activity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(400))
    activity_id: Mapped[str] = mapped_column(String(200))
    link_id: Mapped[int] = mapped_column(Integer)
    refresh_user_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
