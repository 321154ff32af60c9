"""external enrolment email

Seed 001's admin notification per external enrolment, an option per item: whether it is on,
and the stakeholders who get it besides the primary admin.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "external_enrolment_email",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("is_on", sa.Boolean(), nullable=False),
        sa.Column("stakeholders", sa.JSON(), nullable=False),
        sa.Column("updated_by_user_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["catalog_item.id"],
            name=op.f("fk_external_enrolment_email_item_id_catalog_item"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_external_enrolment_email_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_user_id"],
            ["portal_user.id"],
            name=op.f("fk_external_enrolment_email_updated_by_user_id_portal_user"),
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_external_enrolment_email")),
    )


def downgrade() -> None:
    op.drop_table("external_enrolment_email")
