"""invitations and the join page

Invitations into a group (seed 003): the address, the group, the type a new person gets, the
status, and the secret the link must carry; the organisation's join page (on or off, its
path, its group and allowed domains).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = store.models.UTCDateTime(timezone=True)
    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_type", sa.String(length=16), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "accepted",
                "cancelled",
                name="invitation_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("secret", sa.String(length=32), nullable=True),
        sa.Column("invited_by", sa.String(length=200), nullable=False),
        sa.Column("invited_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", when, nullable=False),
        sa.Column("sent_at", when, nullable=False),
        sa.Column("accepted_at", when, nullable=True),
        sa.Column("cancelled_at", when, nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_invitation_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["directory_group.id"],
            name=op.f("fk_invitation_group_id_directory_group"),
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_user_id"],
            ["portal_user.id"],
            name=op.f("fk_invitation_invited_by_user_id_portal_user"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["portal_user.id"], name=op.f("fk_invitation_user_id_portal_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation")),
    )
    op.create_index("ix_invitation_org_email", "invitation", ["organisation_id", "email"])
    op.create_table(
        "join_page",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("path", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("domains", sa.JSON(), nullable=False),
        sa.Column("updated_at", when, nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_join_page_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["directory_group.id"], name=op.f("fk_join_page_group_id_directory_group")
        ),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_join_page")),
        sa.UniqueConstraint("path", name=op.f("uq_join_page_path")),
    )


def downgrade() -> None:
    op.drop_table("join_page")
    op.drop_index("ix_invitation_org_email", table_name="invitation")
    op.drop_table("invitation")
