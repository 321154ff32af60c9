"""`enrolbot completions import FILE`: completions from a learning platform's export (the work
is in handlers.completions_import; checking and writing in handlers.imports)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click


def group(import_file: Callable[..., None]) -> click.Group:
    """The `completions` command group, given the CLI's way of running an import (bot.cli)."""
    from handlers.completions_import import CompletionsImport

    @click.group("completions")
    def completions() -> None:
        """Completions reported by the learning platform."""

    @completions.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def completions_import(file: Path) -> None:
        """Record completions from FILE (.csv or .xlsx): columns email,item,completed_at[,score].

        completed_at is a date (2027-09-20) or a date and time (2027-09-20T14:30, UTC unless
        it has an offset). Each person's current period of the item is completed; someone never
        enrolled in it is enrolled first (source import); one already completed is left as it
        is, so importing a file again changes nothing. A recurring rule's next period opens for
        whoever completes. The whole file is checked first: nothing is written if any row is
        wrong. Ctrl-C stops between batches; running the same file again finishes it.
        """
        importer = CompletionsImport()
        import_file(file, "completion", importer, describe=importer.describe)

    return completions
