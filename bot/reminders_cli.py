"""`enrolbot reminders run [--now ISO]`: the reminders' scan now, as the job runs it, printing
what it queued and what it held back for quiet hours (handlers.reminders)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import click

from bot.settings import Settings


def _instant(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.ClickException(
            "--now takes a date and time written YYYY-MM-DDTHH:MM (ISO 8601, UTC unless an "
            f"offset such as +01:00 follows), such as 2027-03-15T09:00; “{text}” isn't one."
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def group(
    settings: Callable[[], Settings],
    prepare: Callable[..., Awaitable[str | None]],
    run_db: Callable,
) -> click.Group:
    """The `reminders` command group (bot.cli gives how to read settings and run work)."""

    @click.group("reminders")
    def reminders_group() -> None:
        """Due-date reminders and managers' weekly summaries."""

    @reminders_group.command("run")
    @click.option("--now", "now_text", help="Scan as if it were this time (ISO 8601; UTC if bare).")
    def run(now_text: str | None) -> None:
        """Queue the reminders (and managers' summaries) owed now, as the job does. Running it
        twice queues nothing the second time."""
        current = settings()
        now = _instant(now_text)

        async def work() -> list[str]:
            from handlers.reminders.jobs import run_all
            from store.db import make_engine, make_sessionmaker

            created = await prepare(current.database_url, migrate_empty_sqlite=True)
            engine = make_engine(current.database_url)
            try:
                done = await run_all(make_sessionmaker(engine), now)
            finally:
                await engine.dispose()
            return [*([created] if created else []), *done]

        for line in run_db(current.database_url, work):
            click.echo(line)

    return reminders_group
