"""moodle

The Moodle connector: an item's Moodle course, the site of MOODLE_URL, the problems the admins
were told of, and when each enrolment's completion was last read.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite's batch copy would trip over the tables that refer to it.
    op.add_column("catalog_item", sa.Column("moodle_course_id", sa.Integer(), nullable=True))
    op.create_index("ix_catalog_item_moodle_course_id", "catalog_item", ["moodle_course_id"])
    op.create_table(
        "moodle_site",
        sa.Column(
            "organisation_id", sa.Integer(), sa.ForeignKey("organisation.id"), nullable=False
        ),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("updated_at", store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id"),
    )
    op.create_table(
        "moodle_notice",
        sa.Column(
            "organisation_id", sa.Integer(), sa.ForeignKey("organisation.id"), nullable=False
        ),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("told_at", store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "key"),
    )
    op.create_table(
        "moodle_check",
        sa.Column(
            "enrolment_id",
            sa.Integer(),
            sa.ForeignKey("enrolment.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("checked_at", store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("enrolment_id"),
    )
    op.create_index("ix_moodle_check_checked_at", "moodle_check", ["checked_at"])


def downgrade() -> None:
    op.drop_index("ix_moodle_check_checked_at", table_name="moodle_check")
    op.drop_table("moodle_check")
    op.drop_table("moodle_notice")
    op.drop_table("moodle_site")
    op.drop_index("ix_catalog_item_moodle_course_id", table_name="catalog_item")
    op.drop_column("catalog_item", "moodle_course_id")
