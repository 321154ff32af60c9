"""invite imports

A spreadsheet of invitations sent to the bot in chat (`invite import` in Slack or Teams), kept
between its preview and the Send invitations button, so a restart in between loses nothing and
every worker sees the same staged rows.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.models.base import UTCDateTime

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = UTCDateTime(timezone=True)
    op.create_table(
        "invite_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("sent_at", when, nullable=True),
        sa.Column("invited", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_invite_import_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["by_user_id"],
            ["portal_user.id"],
            name=op.f("fk_invite_import_by_user_id_portal_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite_import")),
    )
    op.create_index("ix_invite_import_organisation_id", "invite_import", ["organisation_id"])


def downgrade() -> None:
    op.drop_index("ix_invite_import_organisation_id", table_name="invite_import")
    op.drop_table("invite_import")
