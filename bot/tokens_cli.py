"""`enrolbot tokens import FILE [--out CODES.csv] [--yes] [--dry-run]`: registration tokens
from a spreadsheet, previewed, then created or updated all together (handlers.tokens_import).

A new token's code exists only at its creation, so the codes are handed over once: written to
`--out` (a new file, readable by its owner only, written before the tokens are committed so
that no token is made whose code was lost), or else printed after the import.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from bot import importing
from bot.settings import Settings, SettingsError
from handlers import csvwrite, tokens
from handlers import tokens_import as imp
from handlers.csvfile import FileProblem, RowProblems
from handlers.replies import plural
from handlers.signing import LinkSigner
from store.models import Organisation
from store.private_files import write_private

T = TypeVar("T")
InOrganisation = Callable[[Callable[[AsyncSession, Organisation], Awaitable[T]]], T]
PREVIEW_LINES = 50
CODES_HEADER = ("item", "nickname", "status", "code", "link")


def group(settings: Callable[[], Settings], in_organisation: Callable) -> click.Group:
    """The `tokens` command group, given how the CLI reads its settings and runs work in the
    organisation (bot.cli)."""

    @click.group("tokens")
    def tokens_group() -> None:
        """Self-registration tokens for outsiders."""

    @tokens_group.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option(
        "--out",
        type=click.Path(dir_okay=False, path_type=Path),
        help="A new CSV file for the new tokens' codes and links (else they are printed).",
    )
    @click.option("--yes", is_flag=True, help="Go ahead without asking after the preview.")
    @click.option("--dry-run", is_flag=True, help="Show the preview only.")
    def tokens_import(file: Path, out: Path | None, yes: bool, dry_run: bool) -> None:
        """Create or update tokens from FILE (.csv or .xlsx): columns item,nickname[,status].

        status is active (default) or deactivated. A row whose item already has a token with
        that nickname sets its status; any other row creates a token. The whole file is checked
        and previewed first, then written all together; a wrong row changes nothing. New codes
        are shown once: --out FILE keeps them in a file readable only by you.
        """
        current = settings()
        try:
            current.require_secret_key()
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None
        run(
            functools.partial(in_organisation, current),
            file,
            out=out,
            yes=yes,
            dry_run=dry_run,
            signer=LinkSigner(current.secret_keys),
            public_url=current.public_url,
        )

    return tokens_group


def run(
    in_organisation: InOrganisation,
    path: Path,
    *,
    out: Path | None,
    yes: bool,
    dry_run: bool,
    signer: LinkSigner,
    public_url: str,
) -> None:
    if out is not None and out.exists():
        raise click.ClickException(
            f"{out} already exists; the codes go to a new file, so that no earlier codes are "
            "overwritten: choose another name."
        )
    try:
        rows, problems = imp.read_rows(path)

        async def planned(session: AsyncSession, org: Organisation) -> tuple:
            return await imp.plan(session, org.id, rows)

        steps, refused = in_organisation(planned)
        imp.refuse(problems + refused)
    except (FileProblem, RowProblems) as exc:
        raise click.ClickException(importing.refusal(path, exc)) from None
    _preview(path, steps)
    changes = [s for s in steps if s.action is not imp.Action.UNCHANGED]
    if dry_run or not changes:
        click.echo("Nothing was changed." if changes else "Nothing to change.")
        return
    if not yes:
        try:
            click.confirm("Go ahead?", abort=True, err=True)
        except click.Abort:
            raise click.ClickException(
                "Nothing was changed (add --yes to import without being asked)."
            ) from None

    async def write(session: AsyncSession, org: Organisation) -> list[imp.Created]:
        created = await imp.apply(session, signer, org.id, rows, steps)
        if out is not None and created:
            _write_codes(out, created, public_url)  # before the commit: no code is lost
        return created

    try:
        created = in_organisation(write)
    except imp.PlanChanged:
        raise click.ClickException(
            "The tokens changed since the preview (someone else made or changed one); nothing "
            "was changed: run the import again to see the new plan."
        ) from None
    except BaseException:
        if out is not None:
            out.unlink(missing_ok=True)  # the tokens were not made: their codes mean nothing
        raise
    _report(changes, created, out, public_url)


def _preview(path: Path, steps: list[imp.Step]) -> None:
    n = imp.counts(steps)
    click.echo(
        f"{path}: {plural(n[imp.Action.CREATE], 'token')} to create, "
        f"{n[imp.Action.DEACTIVATE]} to deactivate, {n[imp.Action.ACTIVATE]} to activate, "
        f"{n[imp.Action.UNCHANGED]} unchanged:"
    )
    for step in steps[:PREVIEW_LINES]:
        click.echo(f"  {step.describe()}")
    if len(steps) > PREVIEW_LINES:
        click.echo(f"  ...and {len(steps) - PREVIEW_LINES:,} more.")


def _code_rows(created: list[imp.Created], public_url: str) -> list[tuple[str, ...]]:
    return [
        (
            c.step.row.slug,
            c.step.row.nickname,
            "active" if c.step.row.active else "deactivated",
            tokens.shown(c.code),
            tokens.register_url(public_url, c.code),
        )
        for c in created
    ]


def _write_codes(out: Path, created: list[imp.Created], public_url: str) -> None:
    data = csvwrite.write(CODES_HEADER, _code_rows(created, public_url))
    try:
        write_private(out, data, exclusive=True)
    except OSError as exc:
        raise click.ClickException(
            f"Cannot write {out} ({exc.strerror or exc}); nothing was changed."
        ) from None


def _report(
    changes: list[imp.Step], created: list[imp.Created], out: Path | None, public_url: str
) -> None:
    updated = len(changes) - len(created)
    click.echo(f"Imported tokens: {len(created)} created, {updated} updated.")
    if not created:
        return
    if out is not None:
        click.echo(
            f"The new codes are in {out} (readable by you only): they are shown only once, "
            "so keep that file safe, or share its links and delete it."
        )
        return
    click.echo("The new codes, shown only this once:")
    for slug, nickname, _, code, link in _code_rows(created, public_url):
        click.echo(f"  {slug} “{nickname}”: {code}  {link}")
