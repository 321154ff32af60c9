"""identity email

An index on an identity's email as SCIM compares it (lower-cased, within its provider and
tenant): each batch of new SCIM users looks its userNames up, which read every SCIM identity
without it.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_identity_provider_email",
        "identity",
        ["provider", "tenant_key", sa.text("lower(email)")],
    )


def downgrade() -> None:
    op.drop_index("ix_identity_provider_email", table_name="identity")
