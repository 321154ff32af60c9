"""directory: people's attributes, groups, memberships and their change log

A person's company, department, team, function, language, manager, hire date, employee number
and the date the portal first knew them (backfilled from created_at); groups by kind with their
source and its stable id; memberships with their start and end; and `directory_change`, the log
of every attribute and membership change.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = ("company", "department", "team", "function", "group", "qualification")
_SOURCES = (
    "scim",
    "slack_usergroup",
    "slack_channel",
    "teams_team",
    "file",
    "manual",
    "attribute",
)
_CHANGES = ("attribute", "joined", "left", "person_added", "deactivated", "reactivated")


def _enum(name: str, values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def _keep_email_index() -> None:
    """SQLite's batch mode (the downgrade) copies portal_user without the expression index:
    emails must stay unique per organisation, so it is made again."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS uq_portal_user_org_email "
            "ON portal_user (organisation_id, lower(email))"
        )


def upgrade() -> None:
    # Plain ADD COLUMNs: SQLite's batch mode would copy portal_user, and dropping the old copy
    # fails while other tables' foreign keys point at it.
    with op.batch_alter_table("portal_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("company", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("department", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("team", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("function", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=35), nullable=True))
        batch_op.add_column(sa.Column("hire_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("employee_number", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("first_known_at", store.models.UTCDateTime(timezone=True), nullable=True)
        )
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its foreign key in one statement, and no other way.
        op.execute(
            "ALTER TABLE portal_user ADD COLUMN manager_id INTEGER REFERENCES portal_user (id)"
        )
    else:
        op.add_column("portal_user", sa.Column("manager_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_portal_user_manager_id_portal_user"),
            "portal_user",
            "portal_user",
            ["manager_id"],
            ["id"],
        )
    op.create_index(op.f("ix_portal_user_manager_id"), "portal_user", ["manager_id"])
    _keep_email_index()
    op.execute("UPDATE portal_user SET first_known_at = created_at WHERE first_known_at IS NULL")

    op.create_table(
        "directory_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("group_kind", _KINDS), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", _enum("group_source", _SOURCES), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", store.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_directory_group_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_group")),
    )
    live_external = sa.text("source_id IS NOT NULL AND deleted_at IS NULL")
    live_named = sa.text("source_id IS NULL AND deleted_at IS NULL")
    op.create_index(
        "uq_directory_group_source_id",
        "directory_group",
        ["organisation_id", "source", "source_id"],
        unique=True,
        sqlite_where=live_external,
        postgresql_where=live_external,
    )
    op.create_index(
        "uq_directory_group_kind_name",
        "directory_group",
        ["organisation_id", "kind", sa.text("lower(name)")],
        unique=True,
        sqlite_where=live_named,
        postgresql_where=live_named,
    )

    op.create_table(
        "group_membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("started_at", store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["directory_group.id"],
            name=op.f("fk_group_membership_group_id_directory_group"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["portal_user.id"], name=op.f("fk_group_membership_user_id_portal_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_membership")),
    )
    op.create_index(op.f("ix_group_membership_user_id"), "group_membership", ["user_id"])
    open_only = sa.text("ended_at IS NULL")
    op.create_index(
        "uq_group_membership_open",
        "group_membership",
        ["group_id", "user_id"],
        unique=True,
        sqlite_where=open_only,
        postgresql_where=open_only,
    )

    op.create_table(
        "directory_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("at", store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("change_kind", _CHANGES), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=True),
        sa.Column("old", sa.String(length=400), nullable=True),
        sa.Column("new", sa.String(length=400), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["directory_group.id"],
            name=op.f("fk_directory_change_group_id_directory_group"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_directory_change_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["portal_user.id"], name=op.f("fk_directory_change_user_id_portal_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_change")),
    )
    op.create_index(op.f("ix_directory_change_at"), "directory_change", ["at"])
    op.create_index(op.f("ix_directory_change_user_id"), "directory_change", ["user_id"])
    op.create_index("ix_directory_change_org_id", "directory_change", ["organisation_id", "id"])


def downgrade() -> None:
    op.drop_table("directory_change")
    op.drop_table("group_membership")
    op.drop_table("directory_group")
    with op.batch_alter_table("portal_user", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_portal_user_manager_id_portal_user"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_portal_user_manager_id"))
        for column in (
            "first_known_at",
            "employee_number",
            "hire_date",
            "manager_id",
            "language",
            "function",
            "team",
            "department",
            "company",
        ):
            batch_op.drop_column(column)
    _keep_email_index()
