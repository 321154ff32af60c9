"""`enrolbot invite import FILE [--yes]`: up to 500 invitations from a spreadsheet, previewed
first; with --yes, and only when no row needs fixing, all are written in one transaction and
their emails leave through the outbox of the running service (handlers.invitations_import)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from bot.settings import Settings

BY = "enrolbot invite import"


def group(settings: Callable[[], Settings], in_organisation: Callable) -> click.Group:
    @click.group("invite")
    def invite_group() -> None:
        """Invite people into a group by email."""

    @invite_group.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--yes", is_flag=True, help="Send the invitations after the preview.")
    def import_(file: Path, yes: bool) -> None:
        """Preview FILE (.csv or .xlsx; columns email, group[, type staff|client]); with --yes
        send every invitation, or none while a row needs fixing."""
        from handlers import invitations
        from handlers import invitations_import as sheet
        from handlers.csvfile import FileProblem

        current = settings()
        if yes and not current.smtp_url:
            raise click.ClickException(
                "invitations go by email: set SMTP_URL first; nothing was sent."
            )
        try:
            rows = sheet.read(file)
        except FileProblem as exc:
            raise click.ClickException(f"{file}: {exc}; nothing was sent.") from None

        async def work(session, organisation) -> tuple[list[str], bool]:
            plan = await sheet.plan(session, organisation, rows)
            lines = [f"Preview of {file.name}:", *sheet.preview_lines(plan)]
            if not yes or not plan.ready:
                return lines, plan.ready
            done = await invitations.invite(
                session, organisation, plan.rows, by=BY, by_user_id=None
            )
            sent = len(done.of(invitations.Invited.INVITED))
            lines.append(f"Sent {sent} invitations: the running service emails them now.")
            return lines, True

        lines, ready = in_organisation(current, work)
        for line in lines:
            click.echo(line)
        if not ready:
            raise click.ClickException("fix the rows above and run it again; nothing was sent.")
        if not yes:
            click.echo("Nothing was sent: run it again with --yes to send the invitations.")

    return invite_group
