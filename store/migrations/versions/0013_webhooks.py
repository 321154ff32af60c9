"""webhooks

Endpoints that enrolment events go out to: webhooks signed as Standard Webhooks says, and the
xAPI Learning Record Store of XAPI_ENDPOINT; each with its events, its state (active, paused)
and how its last delivery went. The events themselves are outbox rows.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "webhook",
                "xapi",
                name="endpoint_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "active",
                "paused",
                name="endpoint_state",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("failing_since", store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paused_at", store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_webhook_endpoint_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoint")),
        sa.UniqueConstraint(
            "organisation_id", "kind", "url", name=op.f("uq_webhook_endpoint_organisation_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("webhook_endpoint")
