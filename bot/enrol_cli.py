"""`enrolbot enrol template|import|imports`: spreadsheet enrolment on the command line, the same
template, preview and import as in chat (handlers.enrol_import)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from pathlib import Path

import click

from bot import outfiles
from bot.settings import Settings

BY = "enrolbot enrol import"


def group(
    settings: Callable[[], Settings],
    prepare: Callable[..., Awaitable[str | None]],
    run_db: Callable,
) -> click.Group:
    """The `enrol` command group, given how the CLI reads its settings, makes the schema current
    and runs database work (bot.cli)."""

    def run(work: Callable) -> None:
        url = settings().database_url
        for line in run_db(url, lambda: _in_db(prepare, url, work)):
            click.echo(line)

    @click.group("enrol")
    def enrol_group() -> None:
        """Enrol people from a spreadsheet."""

    @enrol_group.command("template")
    @click.argument("items", nargs=-1, required=True)
    @click.option("--out", "out", metavar="FILE", type=click.Path(path_type=Path), required=True)
    def template(items: tuple[str, ...], out: Path) -> None:
        """Write the .xlsx template for ITEMS (slugs) to FILE, a new file ending in .xlsx: a
        column of emails, one column per item; an x under an item enrols that person in it."""
        outfiles.check(out, ".xlsx", "an .xlsx workbook")
        run(functools.partial(_template, items, out))

    @enrol_group.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--yes", is_flag=True, help="Start the import after the preview.")
    def import_(file: Path, yes: bool) -> None:
        """Preview FILE (.xlsx or .csv, from `enrol template`), and with --yes import it: each
        person enrolled is told once by the running service, in Slack, in Teams or by email,
        whichever is set up. Without --yes nothing changes."""
        run(functools.partial(_import, file, yes, _told(settings())))

    @enrol_group.command("imports")
    def imports() -> None:
        """The latest spreadsheet imports: who ran them, when, and their counts."""
        run(_imports)

    return enrol_group


async def _in_db(
    prepare: Callable[..., Awaitable[str | None]], url: str, work: Callable
) -> list[str]:
    """`work(sessions, org_id, reads)`'s lines, after the schema is made current (and the line
    saying so, if it was created)."""
    from handlers.organisations import default_organisation
    from store.batches import bulk_writer
    from store.db import make_engine, make_sessionmaker

    created = await prepare(url, migrate_empty_sqlite=True)
    # Batches take SQLite's write lock when they begin (store.batches): a running service's
    # clicks wait for one short batch, never for a transaction that read first.
    engine = bulk_writer(make_engine(url))
    reader = make_engine(url)  # the preview reads without holding the write lock
    try:
        sessions = make_sessionmaker(engine)
        async with sessions() as session, session.begin():
            org_id = (await default_organisation(session)).id
        lines = await work(sessions, org_id, make_sessionmaker(reader))
    finally:
        await engine.dispose()
        await reader.dispose()
    return [*([created] if created else []), *lines]


def _told(current: Settings) -> str:
    """How the people an import enrols hear of it, from what is set up here: the outbox tells
    each on the first of Slack, Teams and email that they have (handlers.rules.messages)."""
    ways = [
        name
        for name, on in (
            ("Slack", current.slack_enabled),
            ("Teams", current.teams_enabled),
            ("email", bool(current.smtp_url)),
        )
        if on
    ]
    if not ways:
        return (
            "but nobody can be told: no Slack, Teams or email is set up here (set SLACK_*, "
            "MICROSOFT_* or SMTP_URL as the README says)"
        )
    return f"each to be told once by the running service through {' or '.join(ways)}"


async def _template(items: tuple[str, ...], out: Path, sessions, org_id: int, reads) -> list[str]:
    from handlers import catalog
    from handlers.enrol_sheet import template as make

    slugs = list(dict.fromkeys(s.lower() for s in items))  # one column each, as in chat
    async with sessions() as session:
        try:
            found = [await catalog.get_item(session, org_id, s) for s in slugs]
        except catalog.UnknownItem as exc:
            raise click.ClickException(exc.sentence(catalog.ITEMS_HINT_OUTSIDE_CHAT)) from None
    await asyncio.to_thread(outfiles.write, out, make(found))
    lines = [f"Wrote {out}: fill in emails and an x under each item, then import it."]
    named = [s.lower() for s in items]
    twice = [s for s in slugs if named.count(s) > 1]
    if twice:
        lines.append(f"{', '.join(twice)}: named more than once, given one column.")
    return lines


async def _import(file: Path, yes: bool, told: str, sessions, org_id: int, reads) -> list[str]:
    from handlers import enrol_import as sheet
    from handlers.csvfile import FileProblem
    from handlers.enrol_import_text import preview_lines, started_notice

    rest = 1.0 if sessions.kw["bind"].dialect.name == "sqlite" else 0.0
    try:
        import_id = await sheet.stage(sessions, org_id, file, by=BY, by_user_id=None, rest=rest)
    except FileProblem as exc:
        raise click.ClickException(f"{file}: {exc}; nothing was imported.") from None
    async with reads() as session, session.begin():
        shown = await sheet.preview(session, org_id, import_id)
    lines = [f"Final check of {file.name}:", *preview_lines(shown)]
    if not yes:
        return [*lines, "Nothing was changed: run again with --yes to import."]
    from handlers.enrol_import_start import start

    done = await start(sessions, org_id, import_id, by_name=BY, rest=rest)
    return [*lines, started_notice(done, told).text]


async def _imports(sessions, org_id: int, reads) -> list[str]:
    from handlers.enrol_import_start import past
    from handlers.enrol_import_text import past_notice

    async with sessions() as session:
        notice = past_notice(await past(session, org_id))
    return [notice.text, *notice.lines]
