"""sealed webhook secrets

A webhook's signing secret is kept sealed (Fernet under a key derived from ENROLBOT_SECRET_KEY,
handlers/sealing.py), which is longer than the plain `whsec_...` value: the column widens. The
secrets already stored are sealed by `enrolbot serve` at its next start (handlers.webhooks.
seal_secrets), since the migration does not hold the key.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoint", schema=None) as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=100), type_=sa.String(length=400)
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoint", schema=None) as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=400), type_=sa.String(length=100)
        )
