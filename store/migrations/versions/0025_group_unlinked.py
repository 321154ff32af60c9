"""group unlinked

Where a group unlinked from a Slack user group, a channel or a Teams team came from: unlinking
keeps its members (kept by hand from then on), and linking the same source again takes the
group back instead of making a second one.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("directory_group", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unlinked_source", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("unlinked_source_id", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("directory_group", schema=None) as batch_op:
        batch_op.drop_column("unlinked_source_id")
        batch_op.drop_column("unlinked_source")
