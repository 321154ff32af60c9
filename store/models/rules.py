"""Automatic enrolment: rules that say who must (or should) take an item, kept as columns and
child rows that SQL joins on, and the cursor by which rules follow the directory's changes."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, text_enum, utcnow


class Due(enum.StrEnum):
    NONE = "none"
    WITHIN = "within"  # N days after enrolment
    ON = "on"  # a date
    EACH_YEAR = "each_year"  # a month and day, every year


class Recur(enum.StrEnum):
    ONCE = "once"
    ANNUAL = "annual"
    DAYS = "days"  # every N days
    MONTHS = "months"  # every N months


# The person's attributes a rule may name with --where FIELD=VALUE (portal_user columns).
WHERE_FIELDS = ("company", "department", "team", "function", "language")


class EnrolmentRule(Base):
    """Everyone matching the criteria is enrolled in `item_id`. Criteria combine with AND:
    `everyone`, any of the rule's groups, its conditions (all fields must hold; several values
    of one field: any of them), the manager's reports, hired after, added after."""

    __tablename__ = "enrolment_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("catalog_item.id"), index=True)
    everyone: Mapped[bool] = mapped_column(Boolean, default=False)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("portal_user.id"))
    all_reports: Mapped[bool] = mapped_column(Boolean, default=False)
    hired_after: Mapped[date | None] = mapped_column(Date)
    added_after: Mapped[date | None] = mapped_column(Date)
    include_prospects: Mapped[bool] = mapped_column(Boolean, default=False)
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    reason: Mapped[str | None] = mapped_column(Text)
    due: Mapped[Due] = mapped_column(text_enum(Due, "rule_due"), default=Due.NONE)
    due_days: Mapped[int | None] = mapped_column(Integer)  # WITHIN
    due_on: Mapped[date | None] = mapped_column(Date)  # ON
    due_month: Mapped[int | None] = mapped_column(Integer)  # EACH_YEAR
    due_day: Mapped[int | None] = mapped_column(Integer)
    first_due_within: Mapped[int | None] = mapped_column(Integer)  # EACH_YEAR's first period
    recur: Mapped[Recur] = mapped_column(text_enum(Recur, "rule_recur"), default=Recur.ONCE)
    recur_every: Mapped[int | None] = mapped_column(Integer)  # DAYS, MONTHS
    enrol_days_before: Mapped[int | None] = mapped_column(Integer)
    withdraw_on_leave: Mapped[bool] = mapped_column(Boolean, default=False)
    new_only: Mapped[bool] = mapped_column(Boolean, default=False)  # False: --existing
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the rule is saved or resumed: the follower evaluates it whole, then clears it.
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_user.id"))
    created_by: Mapped[str] = mapped_column(String(200), default="")  # the account or tool
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def active(self) -> bool:
        return self.paused_at is None and self.deleted_at is None


class RuleGroup(Base):
    """A group the rule's people belong to (any of them), by open membership."""

    __tablename__ = "enrolment_rule_group"

    rule_id: Mapped[int] = mapped_column(ForeignKey("enrolment_rule.id"), primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("directory_group.id"), primary_key=True, index=True
    )


class RuleCondition(Base):
    """--where FIELD=VALUE: the person's attribute equals the value, without regard to case."""

    __tablename__ = "enrolment_rule_condition"

    rule_id: Mapped[int] = mapped_column(ForeignKey("enrolment_rule.id"), primary_key=True)
    field: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)


class RuleBaseline(Base):
    """A --new-only rule's people who matched when it was saved: not enrolled until they stop
    matching and come to match again (then the row goes)."""

    __tablename__ = "enrolment_rule_baseline"

    rule_id: Mapped[int] = mapped_column(ForeignKey("enrolment_rule.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id"), primary_key=True)


class StreamCursor(Base):
    """How far a follower of the directory_change stream has got, so a restart resumes."""

    __tablename__ = "stream_cursor"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


__all__ = [
    "WHERE_FIELDS",
    "Due",
    "EnrolmentRule",
    "Recur",
    "RuleBaseline",
    "RuleCondition",
    "RuleGroup",
    "StreamCursor",
]
