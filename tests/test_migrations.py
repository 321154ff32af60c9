"""The schema: migrations reach head from empty on each back end, and agree with the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from store.db import make_engine
from store.models import Base
from store.revision import HEAD, is_current
from store.schema import SchemaState, head_revision, schema_state, upgrade


async def test_upgrade_from_empty_reaches_head(databases, backend):
    engine = make_engine(databases.empty(backend))
    try:
        assert await schema_state(engine) == (SchemaState.EMPTY, None)
        assert await is_current(engine) is False
        await upgrade(engine)
        assert await schema_state(engine) == (SchemaState.CURRENT, head_revision())
        # What `serve` checks at every start, without Alembic, agrees with Alembic.
        assert (HEAD, await is_current(engine)) == (head_revision(), True)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(c.dialect.get_table_names(c)))
        assert set(Base.metadata.tables) <= tables
        await upgrade(engine)  # a second upgrade is a no-op, not an error
        assert await schema_state(engine) == (SchemaState.CURRENT, head_revision())
        async with engine.begin() as conn:  # as if this code were newer than the database
            await conn.execute(text("UPDATE alembic_version SET version_num = '0003'"))
        assert await is_current(engine) is False
    finally:
        await engine.dispose()
        databases.drop(str(engine.url.render_as_string(hide_password=False)))


async def test_models_and_migrations_agree(db_url):
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await engine.dispose()
    assert diff == []


async def test_email_is_unique_per_organisation_whatever_its_case(db_url):
    engine = make_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO organisation (name, sso_auto_provision, created_at) VALUES ('a', false, CURRENT_TIMESTAMP), ('b', false, CURRENT_TIMESTAMP)"
                )
            )
        insert = text(
            "INSERT INTO portal_user (organisation_id, email, first_name, last_name, type, status,"
            " created_at) VALUES (:org, :email, '', '', 'staff', 'active', CURRENT_TIMESTAMP)"
        )
        async with engine.begin() as conn:
            await conn.execute(insert, {"org": 1, "email": "Ann@Example.com"})
            await conn.execute(insert, {"org": 2, "email": "ann@example.com"})  # other org: fine
        failed = False
        try:
            async with engine.begin() as conn:
                await conn.execute(insert, {"org": 1, "email": "ANN@example.COM"})
        except Exception as exc:  # IntegrityError, wrapped per driver
            failed = "unique" in str(exc).lower()
        assert failed, "the database accepted a second ann@example.com in one organisation"
    finally:
        await engine.dispose()


async def test_the_directory_migration_keeps_people_and_backfills_when_they_were_first_known(
    databases, backend
):
    url = databases.empty(backend)
    engine = make_engine(url)
    try:
        await upgrade(engine, "0009")
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO organisation (id, name, sso_auto_provision, created_at)"
                    " VALUES (1, 'Acme', false, '2025-01-02 03:04:05')"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO portal_user (id, organisation_id, email, first_name, last_name,"
                    " type, status, created_at) VALUES (1, 1, 'a@b.c', '', '', 'staff', 'active',"
                    " '2025-01-02 03:04:05')"
                )
            )
        await upgrade(engine)
        async with engine.connect() as conn:
            same = "SELECT first_known_at = created_at FROM portal_user"
            assert (await conn.execute(text(same))).scalar_one() in (True, 1)
        failed = False
        try:
            async with engine.begin() as conn:  # emails stay unique whatever their case
                await conn.execute(
                    text(
                        "INSERT INTO portal_user (organisation_id, email, first_name, last_name,"
                        " type, status, created_at) VALUES (1, 'A@B.C', '', '', 'staff',"
                        " 'active', CURRENT_TIMESTAMP)"
                    )
                )
        except Exception as exc:
            failed = "unique" in str(exc).lower()
        assert failed
    finally:
        await engine.dispose()
        databases.drop(url)
