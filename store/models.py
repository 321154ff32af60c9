"""The tables. Rules that concurrent writers could break live here as database constraints."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC on the way out, whatever the back end stores (SQLite keeps none)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    # Stable constraint names let Alembic alter SQLite tables (batch mode) and PostgreSQL alike.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as text with a CHECK, so adding a value later is a plain migration on both back ends.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class UserType(enum.StrEnum):
    STAFF = "staff"
    CLIENT = "client"
    PROSPECT = "prospect"


class UserStatus(enum.StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


class ItemKind(enum.StrEnum):
    TOPIC = "topic"
    ARTICLE = "article"
    PATHWAY = "pathway"


class ItemSource(enum.StrEnum):
    OWN = "own"
    LIBRARY = "library"


class EnrolmentStatus(enum.StrEnum):
    ENROLLED = "enrolled"
    COMPLETED = "completed"


class EnrolmentSource(enum.StrEnum):
    """How an enrolment came about; every way in goes through handlers.enrol.enrol."""

    LINK = "link"
    ASSIGNMENT = "assignment"
    RULE = "rule"
    MANUAL = "manual"
    IMPORT = "import"
    INVITATION = "invitation"
    REGISTRATION = "registration"
    API = "api"


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


class DigestMode(enum.StrEnum):
    INSTANT = "instant"
    HOURLY = "hourly"
    DAILY = "daily"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    sso_auto_provision: Mapped[bool] = mapped_column(Boolean, default=False)
    primary_admin_email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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
    type: Mapped[UserType] = mapped_column(_enum(UserType, "user_type"), default=UserType.STAFF)
    status: Mapped[UserStatus] = mapped_column(
        _enum(UserStatus, "user_status"), default=UserStatus.ACTIVE
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email


class Identity(Base):
    """A platform account, keyed by the platform's stable id, linked to a portal user."""

    __tablename__ = "identity"
    __table_args__ = (UniqueConstraint("provider", "tenant_key", "subject"),)

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
    standing: Mapped[Standing] = mapped_column(_enum(Standing, "standing"), default=Standing.MEMBER)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CatalogItem(Base):
    __tablename__ = "catalog_item"
    __table_args__ = (UniqueConstraint("organisation_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    slug: Mapped[str] = mapped_column(String(100))
    kind: Mapped[ItemKind] = mapped_column(_enum(ItemKind, "item_kind"))
    title: Mapped[str] = mapped_column(String(300))
    source: Mapped[ItemSource] = mapped_column(_enum(ItemSource, "item_source"), default="own")
    url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EnrolmentLink(Base):
    __tablename__ = "enrolment_link"
    __table_args__ = (
        # Exactly one default link per item, even with two admins racing.
        Index(
            "uq_enrolment_link_default",
            "item_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("catalog_item.id"), index=True)
    label: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Erased on delete, so a deleted link's tokens can never match again.
    secret: Mapped[str | None] = mapped_column(String(64))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeletedLink(Base):
    """A tombstone kept apart from the link's row: writing back an old copy of that row
    (a restored backup, a careless fix) does not bring the link back to life."""

    __tablename__ = "deleted_link"

    link_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_user.id"))


class Enrolment(Base):
    __tablename__ = "enrolment"
    __table_args__ = (UniqueConstraint("user_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("catalog_item.id"), index=True)
    status: Mapped[EnrolmentStatus] = mapped_column(
        _enum(EnrolmentStatus, "enrolment_status"), default=EnrolmentStatus.ENROLLED
    )
    # Indexed: a link's uses are counted from here (`link list`), not kept on every click.
    link_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment_link.id"), index=True)
    source: Mapped[EnrolmentSource] = mapped_column(
        _enum(EnrolmentSource, "enrolment_source"), default=EnrolmentSource.LINK
    )
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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


class AdminGrant(Base):
    __tablename__ = "admin_grant"
    __table_args__ = (UniqueConstraint("organisation_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id"))
    role: Mapped[AdminRole] = mapped_column(_enum(AdminRole, "admin_role"))
    granted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_user.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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
    mode: Mapped[DigestMode] = mapped_column(_enum(DigestMode, "digest_mode"), default="instant")
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_user.id"))
    # Where to tell the admin who subscribed if the channel stops taking messages.
    admin_destination: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when delivery failed for good (channel archived, bot removed): no more alerts go there.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))


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


class JobLease(Base):
    """One per scheduled job: which worker runs it now, and until when that worker may be
    silent before another takes the job over (it died). Taken with a conditional UPDATE, so
    with several workers exactly one runs a job at a time."""

    __tablename__ = "job_lease"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """A message to send, written in the transaction of the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "not_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[str] = mapped_column(String(32))
    destination: Mapped[str] = mapped_column(String(400))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[OutboxStatus] = mapped_column(
        _enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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


class PendingClick(Base):
    """A click acknowledged before its enrolment was committed, kept until it is answered: a
    worker that dies after the acknowledgement leaves it for its restart, or another worker,
    to finish. The lease says who is working on it; its holder renews it while it works."""

    __tablename__ = "pending_click"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    tenant_key: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(64))
    # The clicker's own team or tenant, when the platform says (a shared channel's stranger).
    home_tenant: Mapped[str | None] = mapped_column(String(64))
    home_org: Mapped[str | None] = mapped_column(String(64))  # a Slack Enterprise Grid's id
    token: Mapped[str] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(200))
    # Where the answer goes (Slack's response_url, valid for 30 minutes).
    reply_to: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
