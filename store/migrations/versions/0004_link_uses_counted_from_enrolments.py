"""link uses counted from enrolments

Every click updated its link's use_count, a second write on the hottest path; the uses are
now counted from the enrolments each link made, which this index keeps cheap.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrolment_link_id"), ["link_id"], unique=False)

    with op.batch_alter_table("enrolment_link", schema=None) as batch_op:
        batch_op.drop_column("use_count")


def downgrade() -> None:
    with op.batch_alter_table("enrolment_link", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("use_count", sa.INTEGER(), nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE enrolment_link SET use_count = "
        "(SELECT count(*) FROM enrolment WHERE enrolment.link_id = enrolment_link.id)"
    )

    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolment_link_id"))
