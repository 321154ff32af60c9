"""`enrolbot report ITEM [--type T] [--since DATE] [--csv FILE]`: the report an admin gets with
the `report` command, from the command line: the summary printed, the CSV written to FILE (or
to standard output with `--csv -`, the summary then going to standard error)."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outfiles
from handlers import catalog, reports
from handlers.replies import plural
from store.models import Organisation

T = TypeVar("T")
InOrganisation = Callable[[Callable[[AsyncSession, Organisation], Awaitable[T]]], T]


def run(
    in_organisation: InOrganisation, slug: str, user_type: str | None, since: str | None, out: str
) -> None:
    """Make the report in the organisation (`in_organisation` runs work in its transaction)."""
    try:
        wanted = reports.filters(user_type, since)
    except reports.ReportError as exc:
        raise click.ClickException(_plain(str(exc))) from None
    if out and out != "-":
        outfiles.check(Path(out), ".csv", "CSV")

    async def work(session: AsyncSession, org: Organisation) -> reports.Report:
        item = await catalog.get_item(session, org.id, slug)
        return await reports.make_report(session, item, wanted)

    try:
        made = in_organisation(work)
    except catalog.UnknownItem as exc:
        raise click.ClickException(_plain(exc.sentence(catalog.ITEMS_HINT_OUTSIDE_CHAT))) from None
    to_stdout = out == "-"
    notice = reports.summary(made)
    for line in (notice.text, *notice.lines):
        click.echo(_plain(line), err=to_stdout)
    if to_stdout:
        sys.stdout.buffer.write(made.csv)
        sys.stdout.flush()
    elif out:
        outfiles.write(Path(out), made.csv)
        click.echo(f"Wrote {plural(made.total, 'enrolment')} to {out}.")
    else:
        click.echo("Add --csv FILE to write the enrolments as CSV (--csv - for standard output).")


def _plain(text: str) -> str:
    """A chat sentence for a terminal: commands are quoted with backticks there, not here."""
    return text.replace("`", "")
