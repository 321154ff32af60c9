"""reminders

Reminders queued once per enrolment and offset, managers' weekly summaries and nudges under
unique keys; the organisation's reminder days and time zone, a person's own zone; enrolments
indexed by due date for the reminders' scan.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.models.base import UTCDateTime

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs: SQLite's batch copy would trip over the tables that refer to them.
    op.add_column(
        "organisation",
        sa.Column("reminder_days", sa.String(40), nullable=False, server_default="7,1,0"),
    )
    op.add_column(
        "organisation", sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC")
    )
    op.add_column("portal_user", sa.Column("time_zone", sa.String(64), nullable=True))
    op.create_index("ix_enrolment_due_at", "enrolment", ["due_at"])
    op.create_table(
        "reminder_sent",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("enrolment_id", sa.Integer(), sa.ForeignKey("enrolment.id"), nullable=False),
        sa.Column("offset_days", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("portal_user.id"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("not_before", UTCDateTime(timezone=True), nullable=False),
        sa.Column("queued_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("enrolment_id", "offset_days", name="uq_reminder_sent"),
    )
    op.create_index("ix_reminder_sent_user_day", "reminder_sent", ["user_id", "day"])
    _mutes()
    op.create_table(
        "manager_summary",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("manager_id", sa.Integer(), sa.ForeignKey("portal_user.id"), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("queued_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("manager_id", "week", name="uq_manager_summary"),
    )
    op.create_table(
        "manager_nudge",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("portal_user.id"), nullable=False),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("catalog_item.id"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("by_user_id", sa.Integer(), sa.ForeignKey("portal_user.id"), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("user_id", "item_id", "day", name="uq_manager_nudge"),
    )


def _mutes() -> None:
    """What a person asked not to be reminded of: one item, or all (item_id NULL)."""
    op.create_table(
        "reminder_mute",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("portal_user.id"), nullable=False),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("catalog_item.id"), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_reminder_mute_user_id", "reminder_mute", ["user_id"])
    for name, columns, where in (
        ("uq_reminder_mute_item", ["user_id", "item_id"], "item_id IS NOT NULL"),
        ("uq_reminder_mute_all", ["user_id"], "item_id IS NULL"),
    ):
        op.create_index(
            name,
            "reminder_mute",
            columns,
            unique=True,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    op.drop_table("reminder_mute")
    op.drop_table("manager_nudge")
    op.drop_table("manager_summary")
    op.drop_table("reminder_sent")
    op.drop_index("ix_enrolment_due_at", "enrolment")
    op.drop_column("portal_user", "time_zone")
    op.drop_column("organisation", "time_zone")
    op.drop_column("organisation", "reminder_days")
