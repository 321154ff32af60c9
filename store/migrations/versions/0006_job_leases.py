"""job leases, and refusals told once per delivery lane

The job runner takes a lease per scheduled job, so that with several workers exactly one runs
a job at a time and a crashed worker's job is taken over. A delivery lane remembers when its
admins were told that a message there was refused, to tell them once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_lease",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_started_at", store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", store.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_lease")),
    )
    with op.batch_alter_table("delivery_lane", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("refusal_told_at", store.models.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery_lane", schema=None) as batch_op:
        batch_op.drop_column("refusal_told_at")
    op.drop_table("job_lease")
