"""home refresh

People whose Slack Home tab is to be republished, written in the transaction of the change by
whichever process made it, and taken by the service's home-refresh job.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.models.base import UTCDateTime

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "home_refresh",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("portal_user.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_home_refresh_due_at", "home_refresh", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_home_refresh_due_at", table_name="home_refresh")
    op.drop_table("home_refresh")
