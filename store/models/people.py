"""Organisations, their people, the platform accounts linked to them, who is an admin, and the
audit of who did what."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, text_enum, utcnow


class UserType(enum.StrEnum):
    STAFF = "staff"
    CLIENT = "client"
    PROSPECT = "prospect"


class UserStatus(enum.StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


class AdminRole(enum.StrEnum):
    SUPER = "super"
    STANDARD = "standard"


class Standing(enum.StrEnum):
    """What the platform says an account is; only members may use internal links."""

    MEMBER = "member"
    GUEST = "guest"
    EXTERNAL = "external"
    BOT = "bot"
    DEACTIVATED = "deactivated"


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    sso_auto_provision: Mapped[bool] = mapped_column(Boolean, default=False)
    primary_admin_email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Learners told when a rule enrols or withdraws them (handlers.rules.messages).
    rule_messages: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Days before a due date that learners are reminded (0: the due day), and the IANA zone
    # of people whose own zone is unknown (handlers.reminders).
    reminder_days: Mapped[str] = mapped_column(String(40), default="7,1,0", server_default="7,1,0")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")


class User(Base):
    __tablename__ = "portal_user"
    __table_args__ = (
        # Emails compare case-insensitively; the index makes the database hold that rule.
        Index(
            "uq_portal_user_org_email", "organisation_id", func.lower(text("email")), unique=True
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    type: Mapped[UserType] = mapped_column(text_enum(UserType, "user_type"), default=UserType.STAFF)
    status: Mapped[UserStatus] = mapped_column(
        text_enum(UserStatus, "user_status"), default=UserStatus.ACTIVE
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the person proved the address is theirs (a prospect's invitation link); None: not
    # yet, or never asked (staff and clients come from trusted sources).
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where the person sits (handlers.directory keeps company, department, team and function
    # equal to their membership of the group of that kind, and records every change).
    company: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(200))
    team: Mapped[str | None] = mapped_column(String(200))
    function: Mapped[str | None] = mapped_column(String(200))  # job title
    language: Mapped[str | None] = mapped_column(String(35))  # a BCP 47 tag, e.g. en-GB
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("portal_user.id"), index=True)
    hire_date: Mapped[date | None] = mapped_column(Date)
    employee_number: Mapped[str | None] = mapped_column(String(64))
    # When the portal first knew them ("date added" in rules); not the hire date.
    first_known_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    # The person's IANA time zone as their chat reports it (Slack users.info `tz`); NULL: the
    # organisation's (handlers.quiet_hours).
    time_zone: Mapped[str | None] = mapped_column(String(64))

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email


class Identity(Base):
    """A platform account, keyed by the platform's stable id, linked to a portal user."""

    __tablename__ = "identity"
    __table_args__ = (
        UniqueConstraint("provider", "tenant_key", "subject"),
        # SCIM finds its users by userName (kept here) whatever its case (handlers.scim).
        Index("ix_identity_provider_email", "provider", "tenant_key", func.lower(text("email"))),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    tenant_key: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(64))
    # Empty until the account is matched to a portal user; refusals are remembered too, so the
    # platform's directory is asked once per person, not once per click.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_user.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    standing: Mapped[Standing] = mapped_column(
        text_enum(Standing, "standing"), default=Standing.MEMBER
    )
    # The last time this Slack account opened the app's Home tab: only those are republished
    # when their enrolments change (bot.slack.home); the rest see a fresh one when they open it.
    home_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class HomeRefresh(Base):
    """A person whose Home tab is to be republished: written in the transaction of the change,
    whichever process made it, and taken by the service's "home-refresh" job (bot.slack.home)."""

    __tablename__ = "home_refresh"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("portal_user.id", ondelete="CASCADE"), primary_key=True
    )
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AdminGrant(Base):
    __tablename__ = "admin_grant"
    __table_args__ = (UniqueConstraint("organisation_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id"))
    role: Mapped[AdminRole] = mapped_column(text_enum(AdminRole, "admin_role"))
    granted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_user.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(64))
    # Who: the portal user when known, and always the account or tool that acted.
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_user.id"))
    actor: Mapped[str] = mapped_column(String(200))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_item.id"))
    link_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
