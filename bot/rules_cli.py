"""`enrolbot rules reconcile`: every active rule against everyone, now, printing what it changed
(handlers.rules.reconcile); the nightly job runs the same."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import click

from bot.settings import Settings


def group(
    settings: Callable[[], Settings],
    prepare: Callable[..., Awaitable[str | None]],
    run_db: Callable,
) -> click.Group:
    """The `rules` command group, given how the CLI reads its settings, makes the schema
    current and runs database work (bot.cli)."""

    @click.group("rules")
    def rules_group() -> None:
        """Automatic enrolment rules."""

    @rules_group.command("reconcile")
    def reconcile() -> None:
        """Apply every active rule to everyone now, as the nightly reconcile does: enrol who
        matches and is not enrolled, withdraw (for rules that say so) who left. Running it
        twice changes nothing the second time."""
        current = settings()

        async def work() -> list[str]:
            from handlers.rules.reconcile import reconcile as run
            from store.db import make_engine, make_sessionmaker

            created = await prepare(current.database_url, migrate_empty_sqlite=True)
            engine = make_engine(current.database_url)
            try:
                runs = await run(make_sessionmaker(engine))
            finally:
                await engine.dispose()
            lines = [*([created] if created else []), *(r.describe() for r in runs)]
            enrolled = sum(r.enrolled for r in runs)
            withdrawn = sum(r.withdrawn for r in runs)
            lines.append(
                f"Reconciled {len(runs)} rule{'s' if len(runs) != 1 else ''}: "
                f"{enrolled} enrolled, {withdrawn} withdrawn."
            )
            return lines

        for line in run_db(current.database_url, work):
            click.echo(line)

    return rules_group
