"""enrolment rules and enrolment periods

Rules (`enrolment_rule`, with its groups, conditions and the --new-only baseline as child rows
SQL joins on), the cursor by which rules follow `directory_change`, and enrolments that belong
to a period: one row per person, item and period (existing rows are period 0), with what a
rule says (required, reason, due date, hidden until, the rule, when started).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def _when() -> sa.Column:
    return store.models.UTCDateTime(timezone=True)


def _rule_table() -> None:
    op.create_table(
        "enrolment_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("everyone", sa.Boolean(), nullable=False),
        sa.Column("manager_id", sa.Integer(), nullable=True),
        sa.Column("all_reports", sa.Boolean(), nullable=False),
        sa.Column("hired_after", sa.Date(), nullable=True),
        sa.Column("added_after", sa.Date(), nullable=True),
        sa.Column("include_prospects", sa.Boolean(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("due", _enum("rule_due", ("none", "within", "on", "each_year")), nullable=False),
        sa.Column("due_days", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("due_month", sa.Integer(), nullable=True),
        sa.Column("due_day", sa.Integer(), nullable=True),
        sa.Column("first_due_within", sa.Integer(), nullable=True),
        sa.Column(
            "recur", _enum("rule_recur", ("once", "annual", "days", "months")), nullable=False
        ),
        sa.Column("recur_every", sa.Integer(), nullable=True),
        sa.Column("enrol_days_before", sa.Integer(), nullable=True),
        sa.Column("withdraw_on_leave", sa.Boolean(), nullable=False),
        sa.Column("new_only", sa.Boolean(), nullable=False),
        sa.Column("paused_at", _when(), nullable=True),
        sa.Column("deleted_at", _when(), nullable=True),
        sa.Column("pending_since", _when(), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["portal_user.id"],
            name=op.f("fk_enrolment_rule_created_by_user_id_portal_user"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["catalog_item.id"], name=op.f("fk_enrolment_rule_item_id_catalog_item")
        ),
        sa.ForeignKeyConstraint(
            ["manager_id"],
            ["portal_user.id"],
            name=op.f("fk_enrolment_rule_manager_id_portal_user"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_enrolment_rule_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_rule")),
    )
    op.create_index(op.f("ix_enrolment_rule_item_id"), "enrolment_rule", ["item_id"])
    op.create_index(
        op.f("ix_enrolment_rule_organisation_id"), "enrolment_rule", ["organisation_id"]
    )


def _child_tables() -> None:
    rule_fk = sa.ForeignKeyConstraint
    op.create_table(
        "enrolment_rule_group",
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        rule_fk(
            ["group_id"],
            ["directory_group.id"],
            name=op.f("fk_enrolment_rule_group_group_id_directory_group"),
        ),
        rule_fk(
            ["rule_id"],
            ["enrolment_rule.id"],
            name=op.f("fk_enrolment_rule_group_rule_id_enrolment_rule"),
        ),
        sa.PrimaryKeyConstraint("rule_id", "group_id", name=op.f("pk_enrolment_rule_group")),
    )
    op.create_index(op.f("ix_enrolment_rule_group_group_id"), "enrolment_rule_group", ["group_id"])
    op.create_table(
        "enrolment_rule_condition",
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        rule_fk(
            ["rule_id"],
            ["enrolment_rule.id"],
            name=op.f("fk_enrolment_rule_condition_rule_id_enrolment_rule"),
        ),
        sa.PrimaryKeyConstraint(
            "rule_id", "field", "value", name=op.f("pk_enrolment_rule_condition")
        ),
    )
    op.create_table(
        "enrolment_rule_baseline",
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        rule_fk(
            ["rule_id"],
            ["enrolment_rule.id"],
            name=op.f("fk_enrolment_rule_baseline_rule_id_enrolment_rule"),
        ),
        rule_fk(
            ["user_id"],
            ["portal_user.id"],
            name=op.f("fk_enrolment_rule_baseline_user_id_portal_user"),
        ),
        sa.PrimaryKeyConstraint("rule_id", "user_id", name=op.f("pk_enrolment_rule_baseline")),
    )
    op.create_table(
        "stream_cursor",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_stream_cursor")),
    )


def upgrade() -> None:
    _rule_table()
    _child_tables()
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("period", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(sa.Column("required", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("due_at", _when(), nullable=True))
        batch_op.add_column(sa.Column("visible_from", _when(), nullable=True))
        batch_op.add_column(sa.Column("rule_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("started_at", _when(), nullable=True))
        batch_op.drop_constraint("uq_enrolment_user_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_enrolment_user_item_period", ["user_id", "item_id", "period"]
        )
        batch_op.create_index(batch_op.f("ix_enrolment_rule_id"), ["rule_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_enrolment_rule_id_enrolment_rule"), "enrolment_rule", ["rule_id"], ["id"]
        )


def downgrade() -> None:
    op.execute("DELETE FROM enrolment WHERE period <> 0")
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_enrolment_rule_id_enrolment_rule"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_enrolment_rule_id"))
        batch_op.drop_constraint("uq_enrolment_user_item_period", type_="unique")
        batch_op.create_unique_constraint("uq_enrolment_user_id", ["user_id", "item_id"])
        for column in (
            "started_at",
            "rule_id",
            "visible_from",
            "due_at",
            "reason",
            "required",
            "period",
        ):
            batch_op.drop_column(column)
    op.drop_table("stream_cursor")
    op.drop_table("enrolment_rule_baseline")
    op.drop_table("enrolment_rule_condition")
    op.drop_index(op.f("ix_enrolment_rule_group_group_id"), table_name="enrolment_rule_group")
    op.drop_table("enrolment_rule_group")
    op.drop_index(op.f("ix_enrolment_rule_organisation_id"), table_name="enrolment_rule")
    op.drop_index(op.f("ix_enrolment_rule_item_id"), table_name="enrolment_rule")
    op.drop_table("enrolment_rule")
