"""api: keys, idempotent requests, withdrawn enrolments, completion scores, change times

API keys (kept as SHA-256 hashes) and the answers kept for POSTs retried with an
Idempotency-Key; catalog items' external ids and update time; enrolments may be withdrawn,
carry a completion's score, and say when they last changed (backfilled from their enrolment or
completion time), which the API lists and filters them by.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = ("enrolled", "completed")
_NEW = (*_OLD, "withdrawn")
_CHECK = "ck_enrolment_enrolment_status"


def _status(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(
        *values, name="enrolment_status", native_enum=False, create_constraint=True, length=16
    )


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=24), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", store.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_api_key_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    op.create_index(op.f("ix_api_key_organisation_id"), "api_key", ["organisation_id"])
    op.create_table(
        "api_idempotent_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_key.id"],
            name=op.f("fk_api_idempotent_request_api_key_id_api_key"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_idempotent_request")),
        sa.UniqueConstraint("api_key_id", "key", name=op.f("uq_api_idempotent_request_api_key_id")),
    )
    with op.batch_alter_table("catalog_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_ids", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("updated_at", store.models.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE catalog_item SET updated_at = created_at")
    _enrolment_upgrade()


def _enrolment_upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.drop_constraint(op.f(_CHECK), "enrolment", type_="check")
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        if not postgres:  # SQLite: the table is rebuilt, its CHECK with it
            batch_op.alter_column("status", existing_type=_status(_OLD), type_=_status(_NEW))
        batch_op.add_column(sa.Column("score", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("withdrawn_at", store.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("updated_at", store.models.UTCDateTime(timezone=True), nullable=True)
        )
    if postgres:
        op.create_check_constraint("enrolment_status", "enrolment", sa.column("status").in_(_NEW))
    op.execute("UPDATE enrolment SET updated_at = COALESCE(completed_at, enrolled_at)")
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.alter_column(
            "updated_at",
            existing_type=store.models.UTCDateTime(timezone=True),
            nullable=False,
        )
        batch_op.create_index(batch_op.f("ix_enrolment_updated_at"), ["updated_at"])


def downgrade() -> None:
    op.execute("UPDATE enrolment SET status = 'enrolled' WHERE status = 'withdrawn'")
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.drop_constraint(op.f(_CHECK), "enrolment", type_="check")
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolment_updated_at"))
        for column in ("updated_at", "withdrawn_at", "score"):
            batch_op.drop_column(column)
        if not postgres:
            batch_op.alter_column("status", existing_type=_status(_NEW), type_=_status(_OLD))
    if postgres:
        op.create_check_constraint("enrolment_status", "enrolment", sa.column("status").in_(_OLD))
    with op.batch_alter_table("catalog_item", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("external_ids")
    op.drop_table("api_idempotent_request")
    op.drop_index(op.f("ix_api_key_organisation_id"), table_name="api_key")
    op.drop_table("api_key")
