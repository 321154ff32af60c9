"""`catalog import` and `users import` on the command line: progress on a terminal, Ctrl-C
between batches, and every reason a file was refused (the work is in handlers.imports)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import click

from handlers import imports
from handlers.csvfile import FileProblem, ImportSummary, RowProblems
from handlers.organisations import default_organisation
from store.batches import bulk_writer
from store.db import checkpoint, make_engine, make_sessionmaker, sqlite_path

# On SQLite the service waits for the import's write lock: after each batch the import leaves
# the database alone for as long as the batch held it, so a click waits one short batch at most.
SQLITE_REST = 1.0
PLAIN_EVERY = 10.0  # seconds between progress lines when the output is not a terminal


@dataclass
class Meter:
    """Progress of one phase: a bar with rows/s redrawn in place on a terminal; on anything
    else, a plain line now and then for long imports, and nothing for short ones."""

    out: TextIO
    label: str
    began: float = field(default_factory=time.monotonic)
    shown: float = 0.0
    done: int = 0
    drawn: bool = False

    def __call__(self, done: int, total: int | None) -> None:
        self.done = done
        now = time.monotonic()
        tty = self.out.isatty()
        every = 0.1 if tty else PLAIN_EVERY
        if now - (self.shown or self.began) < every and done != total:
            return
        if not tty and total is not None and done == total and not self.drawn:
            return  # a short import says nothing until its summary
        self.shown = now
        rate = done / max(now - self.began, 1e-6)
        if total:
            filled = round(30 * done / total)
            text = (
                f"{self.label} [{'#' * filled}{'-' * (30 - filled)}] {100 * done // total:3d}% "
                f"{done:,}/{total:,} rows, {rate:,.0f} rows/s"
            )
        else:
            text = f"{self.label}: {done:,} rows, {rate:,.0f} rows/s"
        if tty:
            self.out.write(f"\r{text}\x1b[K")
        else:
            self.out.write(text + "\n")
        self.out.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn and self.out.isatty():
            self.out.write("\n")
            self.out.flush()


class Interrupt:
    """Ctrl-C asks the import to stop after the batch it is writing; a second Ctrl-C stops it
    at once (that batch is rolled back)."""

    def __init__(self) -> None:
        self.requested = False
        self.task: asyncio.Task | None = None

    def __call__(self) -> bool:
        return self.requested

    def press(self) -> None:
        if self.requested and self.task is not None:
            self.task.cancel()
            return
        self.requested = True
        click.echo("\nStopping after this batch (Ctrl-C again to stop at once)...", err=True)


async def run(path: Path, importer: imports.Importer, url: str) -> ImportSummary:
    """Check the whole file, then write it; FileProblem, RowProblems or imports.Stopped."""
    stop = Interrupt()
    stop.task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.press)
    reader = make_engine(url)
    writer = bulk_writer(make_engine(url))
    spool = tempfile.TemporaryFile(prefix="enrolbot-import-")
    try:
        async with make_sessionmaker(writer)() as session, session.begin():
            organisation_id = (await default_organisation(session)).id
        meter = Meter(sys.stderr, f"Checking {path.name}")
        try:
            total = await imports.check_file(
                path,
                importer,
                make_sessionmaker(reader),
                organisation_id,
                progress=meter,
                stop=stop,
                spool=spool,
            )
        except asyncio.CancelledError:
            raise imports.Stopped(ImportSummary(), 0, None) from None
        finally:
            meter.close()
        meter = Meter(sys.stderr, f"Writing {path.name}")
        async with _checkpoints(url):
            try:
                return await imports.write_file(
                    spool,
                    importer,
                    make_sessionmaker(writer),
                    organisation_id,
                    total=total,
                    progress=meter,
                    stop=stop,
                    rest=SQLITE_REST if url.startswith("sqlite") else 0.0,
                )
            except asyncio.CancelledError:
                raise imports.Stopped(_written(meter.done), total, None) from None
            finally:
                meter.close()
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        spool.close()
        await reader.dispose()
        await writer.dispose()


def _written(rows: int) -> ImportSummary:
    return ImportSummary(unchanged=rows)


@contextlib.asynccontextmanager
async def _checkpoints(url: str) -> AsyncIterator[None]:
    """SQLite: copy the write-ahead log into the file every 2 s from a thread while writing,
    as `serve` does (the engine never checkpoints on a commit), so a long import keeps the log
    short when no service runs beside it."""
    engine = make_engine(url)
    path = sqlite_path(engine)
    await engine.dispose()
    if path is None:
        yield
        return

    async def loop() -> None:
        while True:
            await asyncio.sleep(2)
            with contextlib.suppress(Exception):  # busy: the next one will do
                await asyncio.to_thread(checkpoint, path)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def refusal(path: Path, problem: FileProblem | RowProblems) -> str:
    """Why nothing was imported: one line for one problem, then one line per row."""
    if isinstance(problem, FileProblem):
        return f"{path}: {problem}; nothing was imported."
    if problem.total == 1:
        line, reason = problem.problems[0]
        return f"{path}: line {line}: {reason}; nothing was imported."
    lines = [f"{path}: {problem.total:,} rows are wrong; nothing was imported:"]
    lines += [f"  line {line}: {reason}" for line, reason in problem.problems]
    if problem.total > len(problem.problems):
        lines.append(f"  ...and {problem.total - len(problem.problems):,} more.")
    return "\n".join(lines)


def stopped(path: Path, stop: imports.Stopped) -> str:
    if not stop.summary.rows:
        return f"Stopped: nothing was imported from {path}."
    where = f" (up to line {stop.next_line - 1})" if stop.next_line else ""
    return (
        f"Stopped after writing {stop.summary.rows:,} of {stop.total:,} rows{where}. Run the "
        "same import again to finish: the rows already written are left as they are."
    )
