"""registration tokens

Self-registration tokens for outsiders: a keyed hash of each short code, its item, nickname and
status, a tombstone per deleted token, the token each enrolment came through, and when a
person confirmed their email address.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registration_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("nickname", sa.String(length=200), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["portal_user.id"],
            name=op.f("fk_registration_token_created_by_user_id_portal_user"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["catalog_item.id"],
            name=op.f("fk_registration_token_item_id_catalog_item"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_registration_token_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration_token")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_registration_token_code_hash")),
    )
    with op.batch_alter_table("registration_token", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registration_token_item_id"), ["item_id"], unique=False
        )
    op.create_table(
        "deleted_registration_token",
        sa.Column("token_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["deleted_by_user_id"],
            ["portal_user.id"],
            name=op.f("fk_deleted_registration_token_deleted_by_user_id_portal_user"),
        ),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_deleted_registration_token")),
    )
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("registration_token_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_enrolment_registration_token_id"),
            ["registration_token_id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_enrolment_registration_token_id_registration_token"),
            "registration_token",
            ["registration_token_id"],
            ["id"],
        )
    with op.batch_alter_table("portal_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_confirmed_at", store.models.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("portal_user", schema=None) as batch_op:
        batch_op.drop_column("email_confirmed_at")
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_enrolment_registration_token_id_registration_token"),
            type_="foreignkey",
        )
        batch_op.drop_index(batch_op.f("ix_enrolment_registration_token_id"))
        batch_op.drop_column("registration_token_id")
    op.drop_table("deleted_registration_token")
    with op.batch_alter_table("registration_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registration_token_item_id"))
    op.drop_table("registration_token")
