"""my learning

Featured items (offered with an Enrol button in My learning), and when a Slack account last
opened the Home tab (only those are republished when their enrolments change). The mutes My
learning shows and unmutes are reminder_mute, made by 0019.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.models.base import UTCDateTime

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs: SQLite's batch copy would trip over the tables that refer to them.
    op.add_column(
        "catalog_item",
        sa.Column("featured", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "identity", sa.Column("home_opened_at", UTCDateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("identity", "home_opened_at")
    op.drop_column("catalog_item", "featured")
