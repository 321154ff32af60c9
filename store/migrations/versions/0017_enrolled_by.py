"""enrolled by

Who enrolled a person by hand (`enrol add`), so a person's enrolments can say so.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite's batch copy would trip over the tables that refer to it.
    op.add_column("enrolment", sa.Column("enrolled_by_user_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("enrolment", "enrolled_by_user_id")
