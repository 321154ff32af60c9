"""The catalog, the links that enrol into its items, and the enrolments themselves."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, text_enum, utcnow


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
    # By an admin, a platform, or a rule's --withdraw-on-leave; history and progress are kept.
    WITHDRAWN = "withdrawn"


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


class CatalogItem(Base):
    __tablename__ = "catalog_item"
    __table_args__ = (UniqueConstraint("organisation_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    slug: Mapped[str] = mapped_column(String(100))
    kind: Mapped[ItemKind] = mapped_column(text_enum(ItemKind, "item_kind"))
    title: Mapped[str] = mapped_column(String(300))
    source: Mapped[ItemSource] = mapped_column(text_enum(ItemSource, "item_source"), default="own")
    url: Mapped[str | None] = mapped_column(String(2000))
    # The item's ids in other systems, e.g. {"moodle": "42", "lms": "COURSE-7"} (the API's upsert).
    external_ids: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The Moodle course this item is (bot/moodle): enrolments are pushed there, completions read.
    moodle_course_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # Offered to everyone in My learning with an Enrol button (`item feature ITEM`).
    featured: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)


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
    """One person in one item for one period: period 0 for everything that does not recur
    (links, by hand, rules that recur once); a recurring rule's periods are keyed by the
    period's date as YYYYMMDD (20271001). The current period is the highest."""

    __tablename__ = "enrolment"
    __table_args__ = (
        UniqueConstraint("user_id", "item_id", "period", name="uq_enrolment_user_item_period"),
        # Reminders scan a window of due dates (handlers.reminders).
        Index("ix_enrolment_due_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("catalog_item.id"), index=True)
    period: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    status: Mapped[EnrolmentStatus] = mapped_column(
        text_enum(EnrolmentStatus, "enrolment_status"), default=EnrolmentStatus.ENROLLED
    )
    # Indexed: a link's uses are counted from here (`link list`), not kept on every click.
    link_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment_link.id"), index=True)
    # The self-registration token it came through; a token's uses are counted from here.
    registration_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("registration_token.id"), index=True
    )
    source: Mapped[EnrolmentSource] = mapped_column(
        text_enum(EnrolmentSource, "enrolment_source"), default=EnrolmentSource.LINK
    )
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[float | None] = mapped_column(Float)  # as the platform reported it
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Moved by every change of the row: the API's `changed_since` filter and its sort key.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Set by a rule (None elsewhere): required (True) or recommended (False), and why.
    required: Mapped[bool | None] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Hidden from the learner until then (--enrol-days-before); None: visible from the start.
    visible_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The rule that made it; indexed for withdrawals and `why`.
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment_rule.id"), index=True)
    # First progress reported (not started: None); only unstarted enrolments are withdrawn.
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who enrolled the person by hand (`enrol add`): a portal user's id, kept as a plain number
    # like the audit's, so `enrol list` can say "by hand by Ann"; None for every other way in.
    enrolled_by_user_id: Mapped[int | None] = mapped_column(Integer)
