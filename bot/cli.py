"""The `enrolbot` command: serve, db upgrade, catalog and users imports, org, teams package,
report, tokens import, secret new."""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bot import (
    apikey_cli,
    completions_cli,
    directory_cli,
    enrol_cli,
    importing,
    invite_cli,
    moodle_cli,
    org_cli,
    outfiles,
    reminders_cli,
    rules_cli,
    teams_cli,
    tokens_cli,
    webhooks_cli,
)
from bot.settings import Settings, SettingsError, ensure_secret_key, load_settings
from bot.web import server
from handlers.catalog_import import CatalogImport
from handlers.csvfile import FileProblem, ImportSummary, RowProblems
from handlers.imports import Importer, Stopped
from handlers.organisations import default_organisation
from handlers.users_import import UsersImport
from store.db import make_engine, make_sessionmaker
from store.models import Organisation
from store.revision import is_current

T = TypeVar("T")

# The database drivers that `pip install -e .` leaves out, and the extra that brings each.
_DRIVER_EXTRAS = {"asyncpg": "postgres", "psycopg": "postgres"}


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _where(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or "an in-memory SQLite database"
    return f"{parsed.host or 'localhost'}/{parsed.database}"


def _run_db(url: str, work: Callable[[], Awaitable[T]]) -> T:
    """Run database work, turning an unreachable database into one line."""
    try:
        return asyncio.run(work())
    except ModuleNotFoundError as exc:
        if exc.name not in _DRIVER_EXTRAS:
            raise
        raise click.ClickException(
            f"{_where(url)} is a PostgreSQL database, and its driver ({exc.name}) is not "
            f"installed: run pip install -e '.[{_DRIVER_EXTRAS[exc.name]}]'."
        ) from None
    except (OSError, ConnectionError) as exc:
        if isinstance(exc, OSError) and exc.filename and exc.filename != make_url(url).database:
            # A file the command reads or writes, not the database.
            raise click.ClickException(
                f"Cannot use {exc.filename}: {outfiles.reason(exc)}."
            ) from None
        raise click.ClickException(f"Cannot reach the database at {_where(url)}: {exc}") from None
    except Exception as exc:
        if type(exc).__module__.startswith(("sqlalchemy", "asyncpg", "sqlite3")):
            raise click.ClickException(
                f"The database at {_where(url)} refused: {str(exc).splitlines()[0]}"
            ) from None
        raise


async def _prepare_schema(url: str, *, migrate_empty_sqlite: bool) -> str | None:
    """Check the schema is current; migrate an empty SQLite file. A message if it was created."""
    engine = make_engine(url)
    try:
        if await is_current(engine):  # every start: answered without loading Alembic
            return None
        from store.schema import SchemaState, head_revision, schema_state, upgrade

        state, revision = await schema_state(engine)
        if state is SchemaState.CURRENT:
            return None
        if state is SchemaState.EMPTY and migrate_empty_sqlite and url.startswith("sqlite"):
            await upgrade(engine)
            return f"Created the database schema in {_where(url)}."
        if state is SchemaState.EMPTY:
            raise click.ClickException(
                f"The database at {_where(url)} has no tables yet: run `enrolbot db upgrade`."
            )
        if state is SchemaState.BEHIND:
            raise click.ClickException(
                f"The database schema is at revision {revision}, this enrolbot needs "
                f"{head_revision()}: run `enrolbot db upgrade`."
            )
        raise click.ClickException(
            f"The database at {_where(url)} holds tables enrolbot does not know "
            f"(revision {revision or 'none'}); is DATABASE_URL pointing at the right database?"
        )
    finally:
        await engine.dispose()


def _in_organisation(
    settings: Settings, work: Callable[[AsyncSession, Organisation], Awaitable[T]]
) -> T:
    """Run `work` in one transaction with the organisation, on a schema made current first
    (an empty SQLite file is migrated, as `serve` does)."""

    async def run() -> T:
        message = await _prepare_schema(settings.database_url, migrate_empty_sqlite=True)
        if message:
            click.echo(message)
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                return await work(session, await default_organisation(session))
        finally:
            await engine.dispose()

    return _run_db(settings.database_url, run)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="enrolbot", message="%(prog)s %(version)s")
def main() -> None:
    """enrolbot: enrol learners from Slack and Microsoft Teams.

    Settings come from the environment or a .env file in the working directory
    (DATABASE_URL, ENROLBOT_SECRET_KEY, SLACK_*, MICROSOFT_*; see the README).
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Processes."
)
@server.options
def serve(host: str, port: int, workers: int, **bounds: float) -> None:
    """Run the bot's web service (Slack, Teams, deep links, /healthz, /metrics)."""
    import uvicorn

    settings = _settings()
    if workers > 1 and settings.database_url.startswith("sqlite"):
        # SQLite statements run on each worker's event loop: a worker waiting for another's
        # write would hold up every request it has.
        raise click.ClickException(
            "Several workers need PostgreSQL: SQLite lets one process write at a time. "
            "Run one worker, or set DATABASE_URL to a PostgreSQL database."
        )
    server.check_port(host, port)
    try:
        notices, warnings = ensure_secret_key()
        if notices:
            settings = load_settings()
        settings.require_secret_key()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    for notice in notices:
        click.echo(notice)
    for warning in warnings:
        click.echo(warning, err=True)
    created = _run_db(
        settings.database_url,
        lambda: _prepare_schema(settings.database_url, migrate_empty_sqlite=True),
    )
    if created:
        click.echo(created)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    click.echo(
        f"enrolbot listening on http://{host}:{port} (database: {_where(settings.database_url)})"
    )
    uvicorn.run(
        "bot.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        # Bolt and Bot Framework callers send their own identity; no proxy headers are trusted.
        proxy_headers=False,
        # Connection limits and timeouts: see bot/web/server.py.
        **server.uvicorn_options(**bounds),
    )


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations this enrolbot needs (SQLite or PostgreSQL)."""
    settings = _settings()

    from store.schema import schema_state, upgrade

    async def run() -> tuple[str | None, str]:
        engine = make_engine(settings.database_url)
        try:
            _, before = await schema_state(engine)
            await upgrade(engine)
            _, after = await schema_state(engine)
            return before, after or ""
        finally:
            await engine.dispose()

    before, after = _run_db(settings.database_url, run)
    where = _where(settings.database_url)
    if before == after:
        click.echo(f"The database at {where} is already at the current schema ({after}).")
    else:
        click.echo(f"Upgraded the database at {where} from {before or 'empty'} to {after}.")


def _import(
    path: Path,
    noun: str,
    importer: Importer,
    describe: Callable[[ImportSummary], str] | None = None,
) -> None:
    settings = _settings()
    url = settings.database_url

    async def work() -> ImportSummary:
        message = await _prepare_schema(url, migrate_empty_sqlite=True)
        if message:
            click.echo(message)
        return await importing.run(path, importer, url)

    try:
        summary = _run_db(url, work)
    except (FileProblem, RowProblems) as exc:
        raise click.ClickException(importing.refusal(path, exc)) from None
    except Stopped as exc:
        click.echo(importing.stopped(path, exc), err=True)
        sys.exit(130)  # as a shell reports a command stopped by Ctrl-C
    click.echo(describe(summary) if describe else summary.describe(noun))


@main.group("catalog")
def catalog_group() -> None:
    """Topics, articles and pathways."""


@catalog_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def catalog_import(file: Path) -> None:
    """Import items from FILE (.csv or .xlsx): columns slug,kind,title[,source[,url]]
    [,moodle_course_id].

    kind is topic, article or pathway; source is own (default) or library; moodle_course_id
    maps the item to a Moodle course (an empty cell unmaps it). New items get their default
    enrolment link. Existing slugs are updated. The whole file is checked
    first: nothing is written if any row is wrong. Ctrl-C stops between batches; running
    the same file again finishes it.
    """
    importer = CatalogImport()
    _import(file, "item", importer, importer.describe)


@main.group("users")
def users_group() -> None:
    """Portal users."""


@users_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def users_import(file: Path) -> None:
    """Import users from FILE (.csv or .xlsx): columns email,first_name,last_name[,type]
    [,company,department,team,function,manager_email,language,hire_date,groups].

    type is staff (default), client or prospect; hire_date YYYY-MM-DD; groups NAME or
    KIND:NAME separated by ;. Existing emails (compared without case) are updated; an empty
    cell leaves a value as it is. The whole file is checked first: nothing is written if
    any row is wrong. Ctrl-C stops between batches; running the same file again finishes it.
    """
    _import(file, "user", UsersImport())


@main.command("report")
@click.argument("item")
@click.option("--type", "user_type", metavar="T", help="staff, client or prospect only.")
@click.option("--since", metavar="DATE", help="Enrolled on or after DATE (YYYY-MM-DD).")
@click.option(
    "--csv",
    "out",
    metavar="FILE",
    default="",
    help="Write the enrolments to FILE, a new .csv file; - for stdout.",
)
def report(item: str, user_type: str | None, since: str | None, out: str) -> None:
    """An item's enrolments, counted by user type and by source; --csv FILE writes them."""
    from bot import reporting  # the command's work, in its own module

    reporting.run(functools.partial(_in_organisation, _settings()), item, user_type, since, out)


main.add_command(org_cli.group(_settings, _in_organisation))
main.add_command(teams_cli.group(_settings))
main.add_command(tokens_cli.group(_settings, _in_organisation))
main.add_command(apikey_cli.group(_settings, _in_organisation))
main.add_command(webhooks_cli.group(_settings, _in_organisation))
main.add_command(moodle_cli.group(_settings, _in_organisation))
main.add_command(directory_cli.group(_settings, _prepare_schema, _run_db))
main.add_command(directory_cli.groups_group(_import))
main.add_command(completions_cli.group(_import))
main.add_command(rules_cli.group(_settings, _prepare_schema, _run_db))
main.add_command(reminders_cli.group(_settings, _prepare_schema, _run_db))
main.add_command(enrol_cli.group(_settings, _prepare_schema, _run_db))
main.add_command(invite_cli.group(_settings, _in_organisation))


@main.group()
def secret() -> None:
    """Signing keys."""


@secret.command("new")
def secret_new() -> None:
    """Print a fresh key for ENROLBOT_SECRET_KEY.

    To rotate, put the new key first and keep the old one after a comma until the buttons
    signed with it no longer matter: ENROLBOT_SECRET_KEY=new,old
    """
    click.echo(secrets.token_urlsafe(32))


if __name__ == "__main__":
    sys.exit(main())
