"""Invitations (seed 003): an email with a signed link that brings a person into a group, and
the organisation's join page, where anyone (or anyone of some domains) asks to join one."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, text_enum, utcnow


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"  # sent, waiting for the person to accept
    ACCEPTED = "accepted"  # seed 003's Active: a user, in the group, enrolled by its rules
    CANCELLED = "cancelled"  # the link stopped working


class Invitation(Base):
    __tablename__ = "invitation"
    __table_args__ = (Index("ix_invitation_org_email", "organisation_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    email: Mapped[str] = mapped_column(String(320))  # lower case
    group_id: Mapped[int] = mapped_column(ForeignKey("directory_group.id"))
    user_type: Mapped[str] = mapped_column(String(16))  # staff or client, for a new person
    status: Mapped[InvitationStatus] = mapped_column(
        text_enum(InvitationStatus, "invitation_status"),
        default=InvitationStatus.PENDING,
    )
    # The random secret the link's token must carry: a resend replaces it, a cancel or an
    # acceptance erases it, and an older link never verifies again.
    secret: Mapped[str | None] = mapped_column(String(32))
    invited_by: Mapped[str] = mapped_column(String(200))
    invited_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # the latest send
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_user.id"))  # who accepted


class InviteImport(Base):
    """A spreadsheet of invitations sent to the bot in chat, kept between its preview and the
    Send invitations button: the rows as read (checked again when sent, as things change), who
    may send it, and when it was sent (once: a second press finds sent_at set)."""

    __tablename__ = "invite_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    by_user_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id"))
    filename: Mapped[str] = mapped_column(String(255), default="")
    rows: Mapped[list] = mapped_column(JSON)  # [[line, [cells...]], ...] as the file had them
    row_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invited: Mapped[int | None] = mapped_column(Integer)  # invitations written when sent


class JoinPage(Base):
    """The organisation's join page: on or off, its unguessable path, the group it brings
    people into, and the email domains it accepts (empty: any)."""

    __tablename__ = "join_page"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    path: Mapped[str] = mapped_column(String(64), unique=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("directory_group.id"))
    domains: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
