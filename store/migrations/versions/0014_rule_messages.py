"""rule messages

Whether an organisation's learners hear from enrolbot when a rule enrols or withdraws them
(on unless the organisation turns it off: `enrolbot org set --no-rule-messages`).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite's batch copy would trip over the tables that refer to it.
    op.add_column(
        "organisation",
        sa.Column("rule_messages", sa.Boolean(), nullable=False, server_default=sa.true()),
    )


def downgrade() -> None:
    op.drop_column("organisation", "rule_messages")
