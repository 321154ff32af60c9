"""Who belongs where: groups of people, each membership with its start and end, and the log of
every change to a person's attributes or memberships.

A person's stable ids in each source (SCIM, Slack, Teams) are `Identity` rows
(store.models.people): one portal user, many identities. The person's attributes are columns
of `portal_user`.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, text_enum, utcnow


class GroupKind(enum.StrEnum):
    COMPANY = "company"
    DEPARTMENT = "department"
    TEAM = "team"
    FUNCTION = "function"
    GROUP = "group"
    QUALIFICATION = "qualification"


# The kinds that are also one attribute of a person, named as the portal_user column.
ATTRIBUTE_KINDS = frozenset(
    {GroupKind.COMPANY, GroupKind.DEPARTMENT, GroupKind.TEAM, GroupKind.FUNCTION}
)


class GroupSource(enum.StrEnum):
    """Where a group's membership comes from. The first four own their groups: only they
    change them (handlers.directory.truth)."""

    SCIM = "scim"
    SLACK_USERGROUP = "slack_usergroup"
    SLACK_CHANNEL = "slack_channel"
    TEAMS_TEAM = "teams_team"
    FILE = "file"
    MANUAL = "manual"
    ATTRIBUTE = "attribute"  # made when a person's company/department/team/function named it


EXTERNAL_SOURCES = frozenset(
    {
        GroupSource.SCIM,
        GroupSource.SLACK_USERGROUP,
        GroupSource.SLACK_CHANNEL,
        GroupSource.TEAMS_TEAM,
    }
)


class ChangeKind(enum.StrEnum):
    ATTRIBUTE = "attribute"
    JOINED = "joined"
    LEFT = "left"
    PERSON_ADDED = "person_added"
    DEACTIVATED = "deactivated"
    REACTIVATED = "reactivated"


class Group(Base):
    __tablename__ = "directory_group"
    __table_args__ = (
        # A source's group is found again by its stable id, whatever it is called now.
        Index(
            "uq_directory_group_source_id",
            "organisation_id",
            "source",
            "source_id",
            unique=True,
            sqlite_where=text("source_id IS NOT NULL AND deleted_at IS NULL"),
            postgresql_where=text("source_id IS NOT NULL AND deleted_at IS NULL"),
        ),
        # Groups without an outside id (by hand, from a file, from attributes) are known by
        # kind and name, without regard to case.
        Index(
            "uq_directory_group_kind_name",
            "organisation_id",
            "kind",
            func.lower(text("name")),
            unique=True,
            sqlite_where=text("source_id IS NULL AND deleted_at IS NULL"),
            postgresql_where=text("source_id IS NULL AND deleted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[GroupKind] = mapped_column(text_enum(GroupKind, "group_kind"))
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[GroupSource] = mapped_column(text_enum(GroupSource, "group_source"))
    source_id: Mapped[str | None] = mapped_column(String(200))
    # A group unlinked from its source (kept by hand since): where it came from, so that
    # linking the same user group, channel or team again takes this group back.
    unlinked_source: Mapped[str | None] = mapped_column(String(32))
    unlinked_source_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Deleted groups stay, with their memberships' history, out of every list.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Membership(Base):
    """One stretch of a person's membership of a group: ending it sets ended_at, joining again
    is a new row."""

    __tablename__ = "group_membership"
    __table_args__ = (
        Index(
            "uq_group_membership_open",
            "group_id",
            "user_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("directory_group.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(32))  # who made it: a GroupSource value


class DirectoryChange(Base):
    """A change to a person or a membership, written in the change's own transaction: the
    stream that automatic enrolment follows by id."""

    __tablename__ = "directory_change"
    __table_args__ = (Index("ix_directory_change_org_id", "organisation_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id"), index=True)
    kind: Mapped[ChangeKind] = mapped_column(text_enum(ChangeKind, "change_kind"))
    field: Mapped[str | None] = mapped_column(String(32))  # the attribute, for ATTRIBUTE
    old: Mapped[str | None] = mapped_column(String(400))
    new: Mapped[str | None] = mapped_column(String(400))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("directory_group.id"))
    source: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(200))  # the account, for changes by hand
