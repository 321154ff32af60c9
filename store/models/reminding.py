"""What reminders and managers' summaries have been queued, each under a unique key, written in
the transaction of its outbox row: a scan run twice, or killed between batches, neither sends
one twice nor skips one."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, utcnow


class ReminderSent(Base):
    """One (enrolment, offset in days before its due date) reminder, queued on `day` (the
    person's own date), for `not_before` (after quiet hours)."""

    __tablename__ = "reminder_sent"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "offset_days", name="uq_reminder_sent"),
        # A person's latest day with a reminder: one message a day at most.
        Index("ix_reminder_sent_user_day", "user_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"))
    offset_days: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id"))
    day: Mapped[date] = mapped_column(Date)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ManagerSummary(Base):
    """A manager's weekly summary, once per manager and week (the Monday, their date)."""

    __tablename__ = "manager_summary"
    __table_args__ = (UniqueConstraint("manager_id", "week", name="uq_manager_summary"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    manager_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id"))
    week: Mapped[date] = mapped_column(Date)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ManagerNudge(Base):
    """A manager's nudge to one report about one item, once a day (UTC date)."""

    __tablename__ = "manager_nudge"
    __table_args__ = (UniqueConstraint("user_id", "item_id", "day", name="uq_manager_nudge"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("catalog_item.id"))
    day: Mapped[date] = mapped_column(Date)
    by_user_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
