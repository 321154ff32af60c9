"""Alembic environment: migrations run on a connection handed over by store.schema."""

import warnings

from alembic import context
from sqlalchemy.exc import SAWarning

from store.models import Base

# SQLite cannot reflect expression indexes, and batch mode reflects the tables around the one it
# copies, saying so each time; the index itself is left as it is.
warnings.filterwarnings(
    "ignore", message="Skipped unsupported reflection of expression-based index", category=SAWarning
)

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run migrations with `enrolbot db upgrade`, which supplies the connection.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things; batch mode copies the table instead.
    render_as_batch=True,
    compare_type=True,
    # Our column types are re-exported by the store.models package, whichever module holds them,
    # so a generated revision names them as the existing ones do: store.models.UTCDateTime.
    user_module_prefix="store.models.",
)
with context.begin_transaction():
    context.run_migrations()
