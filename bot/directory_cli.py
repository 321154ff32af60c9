"""`enrolbot directory sync [--source NAME] [--force]`: every directory source's full sync, now
(bot.directory_sync); the nightly job runs the same."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import click

from bot.directory_sync import SOURCE_NAMES
from bot.settings import Settings, SettingsError


def group(
    settings: Callable[[], Settings],
    prepare: Callable[..., Awaitable[str | None]],
    run_db: Callable,
) -> click.Group:
    """The `directory` command group, given how the CLI reads its settings, makes the schema
    current and runs database work (bot.cli)."""

    @click.group("directory")
    def directory_group() -> None:
        """People and groups from SCIM, Slack and Teams."""

    @directory_group.command("sync")
    @click.option(
        "--source",
        type=click.Choice(SOURCE_NAMES),
        help="Sync only this source (as `group sync` names them).",
    )
    @click.option(
        "--force",
        is_flag=True,
        help="Apply a sync even if it deactivates or removes more people than "
        "ENROLBOT_SYNC_MAX_REMOVAL_PERCENT allows (after checking the source is right).",
    )
    def directory_sync(source: str | None, force: bool) -> None:
        """Pull every directory source's people and groups now, as the nightly sync does.

        A sync whose fetch fails or stops partway deactivates and removes no one; one that
        would deactivate or remove more than ENROLBOT_SYNC_MAX_REMOVAL_PERCENT (5 %) of the
        people its source covers changes nothing and tells the admins.
        """
        current = settings()
        try:
            current.require_secret_key()
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None

        async def work() -> list[str]:
            created = await prepare(current.database_url, migrate_empty_sqlite=True)
            return [*([created] if created else []), *await _sync(current, source, force)]

        for line in run_db(current.database_url, work):
            click.echo(line)

    return directory_group


async def _sync(settings: Settings, source: str | None, force: bool) -> list[str]:
    from bot.app import Platforms
    from bot.directory_sync import directory_sources, sync_directory
    from bot.runtime import Runtime

    runtime = Runtime.start(settings)
    platforms = Platforms.start(runtime)
    try:
        sources = directory_sources(runtime, platforms)
        if len(sources):
            await platforms.open()
        return await sync_directory(runtime, sources, source, force=force)
    finally:
        await platforms.close()
        await runtime.close()


def groups_group(import_file: Callable[..., None]) -> click.Group:
    """The `groups` command group, given the CLI's way of running an import (bot.cli)."""
    from handlers.groups_import import GroupsImport

    @click.group("groups")
    def groups() -> None:
        """Groups of people."""

    @groups.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def groups_import(file: Path) -> None:
        """Add people to groups from FILE (.csv or .xlsx): columns group,kind,email.

        One row per membership; kind is company, department, team, function, group (default,
        when empty) or qualification. Missing groups are made; people must exist already
        (users import first). Nobody is taken out of a group. The whole file is checked
        first: nothing is written if any row is wrong.
        """
        import_file(file, "membership", GroupsImport())

    return groups
