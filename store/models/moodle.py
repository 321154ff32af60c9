"""The Moodle connector's own state (bot/moodle, handlers/moodle): which site the settings name,
which of its problems the admins were told of, and when each enrolment's completion was last
read. Items name their course on `catalog_item.moodle_course_id`; a person's Moodle account is an
`Identity` of provider "moodle"; pushes are outbox rows of kind "moodle"."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, utcnow


class MoodleSite(Base):
    """The site of MOODLE_URL, kept while it is set: enrolment events fan out to Moodle only
    while this row is there, whichever process made the enrolment (a CLI import too)."""

    __tablename__ = "moodle_site"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MoodleNotice(Base):
    """A Moodle problem the admins were told of (`invalidtoken`, `wsnoinstance:42`, ...): each
    is told once, and forgotten when the call it broke works again."""

    __tablename__ = "moodle_notice"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    told_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MoodleCheck(Base):
    """When an enrolment's completion was last read from Moodle: the poll reads the oldest
    first (never read: first of all), a bounded number per run."""

    __tablename__ = "moodle_check"

    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolment.id", ondelete="CASCADE"), primary_key=True
    )
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
