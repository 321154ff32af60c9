"""pending clicks

Clicks acknowledged before their enrolment was committed are kept until answered, so a worker
that dies right after the acknowledgement loses none.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_click",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("tenant_key", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("home_tenant", sa.String(length=64), nullable=True),
        sa.Column("home_org", sa.String(length=64), nullable=True),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=True),
        sa.Column("reply_to", sa.Text(), nullable=False),
        sa.Column("received_at", store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_click")),
    )
    with op.batch_alter_table("pending_click", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pending_click_lease_until"), ["lease_until"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pending_click", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_click_lease_until"))
    op.drop_table("pending_click")
