"""outbox lane index

The outbox's rows looked up by destination, as each lane's send does (handlers.outbox): the
only index was on (status, not_before), so every send read through all pending rows, and the
10,000 learner messages of a spreadsheet import cost 10,000 reads of up to 20,000 rows each.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outbox_lane", "outbox", ["destination", "status", "not_before"])


def downgrade() -> None:
    op.drop_index("ix_outbox_lane", table_name="outbox")
