"""Importing a file of any size while the service keeps answering on the same database.

Two phases, both streaming, in memory that does not grow with the file (but for the
duplicate check's set of 60-bit hashes, about 70 bytes a row):

1. check: every row is parsed and validated, against the database too where a rule needs it
   (an item's kind cannot change), and every problem is collected with its line number;
   nothing is written. The parsed rows go to a spool file, batch by batch. A key whose hash
   comes twice is confirmed by exact key in a second, rare, read of the file.
2. write: the spooled batches, each in a short transaction of a few set-based statements, so
   the database is never held for long; between batches the import may be asked to stop, and
   on SQLite it leaves the database free for as long as the batch held it.

Each batch is an upsert, so running the same file again completes an interrupted import.
"""

from __future__ import annotations

import asyncio
import pickle
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.csvfile import FileProblem, ImportSummary, Layout, RowProblem, RowProblems, read

BATCH = 1000
MAX_PROBLEMS = 20  # shown; all are counted
_HASH = (1 << 60) - 1  # fits Python's small-object int, 32 bytes

Progress = Callable[[int, int | None], None]


class Importer(Protocol):
    """One kind of import file: how a row is read, checked and written."""

    layout: Layout

    def parse(self, row: dict[str, str]) -> Any:
        """The row as a value to write; RowProblem with the reason when it is wrong."""

    def key(self, parsed: Any) -> str:
        """What makes two rows the same thing (a slug, an email)."""

    def duplicate(self, key: str, first_line: int) -> str:
        """The sentence for a row whose key an earlier row already has."""

    async def check(
        self, session: AsyncSession, organisation_id: int, rows: list[tuple[int, Any]]
    ) -> list[tuple[int, str]]:
        """Problems that only the database can tell, by line."""

    async def write(
        self, session: AsyncSession, organisation_id: int, rows: list[Any]
    ) -> ImportSummary:
        """Create or update `rows` (at most BATCH of them) in the session's transaction."""


class Stopped(Exception):
    """The import was asked to stop; `summary` says what was written before it did."""

    def __init__(self, summary: ImportSummary, total: int, next_line: int | None) -> None:
        self.summary = summary
        self.total = total
        self.next_line = next_line
        super().__init__("stopped")


@dataclass
class _Problems:
    shown: list[tuple[int, str]]
    total: int = 0

    def add(self, line: int, reason: str) -> None:
        self.total += 1
        if len(self.shown) < MAX_PROBLEMS:
            self.shown.append((line, reason))


async def check_file(
    path: Path,
    importer: Importer,
    sessions: async_sessionmaker[AsyncSession],
    organisation_id: int,
    *,
    progress: Progress,
    stop: Callable[[], bool],
    spool: IO[bytes],
) -> int:
    """Validate the whole file, spooling its parsed rows for write_file; the number of rows it
    holds. RowProblems lists what is wrong; FileProblem stops at the first problem with the
    file itself."""
    problems = _Problems([])
    seen: set[int] = set()
    suspects: set[int] = set()
    chunk: list[tuple[int, Any]] = []
    rows = 0

    async def check_chunk() -> None:
        async with sessions() as session:
            for line, reason in await importer.check(session, organisation_id, chunk):
                problems.add(line, reason)
        if not problems.total:  # once a row is wrong nothing will be written
            pickle.dump((chunk[0][0], [row for _, row in chunk]), spool, pickle.HIGHEST_PROTOCOL)
        chunk.clear()
        progress(rows, None)
        if stop():
            raise Stopped(ImportSummary(), rows, None)

    for line, row, problem in read(path, importer.layout):
        rows += 1
        parsed = _parse(importer, line, row, problem, problems)
        if parsed is None:
            continue
        digest = hash(importer.key(parsed)) & _HASH
        if digest in seen:
            suspects.add(digest)
            continue
        seen.add(digest)
        chunk.append((line, parsed))
        if len(chunk) >= BATCH:
            await check_chunk()
    if chunk:
        await check_chunk()
    finish = getattr(importer, "finish", None)  # rules only the whole file can tell
    if finish is not None:
        for line, reason in finish():
            problems.add(line, reason)
    if rows == 0:
        raise FileProblem(None, "the file has no rows to import")
    if suspects:
        _duplicates(path, importer, suspects, problems)
    if problems.total:
        problems.shown.sort()
        raise RowProblems(problems.shown[:MAX_PROBLEMS], problems.total)
    return rows


def _parse(
    importer: Importer, line: int, row: dict[str, str] | None, problem: str | None, out: _Problems
) -> Any:
    if row is None:
        out.add(line, problem or "unreadable row")
        return None
    try:
        return importer.parse(row)
    except RowProblem as exc:
        out.add(line, str(exc))
        return None


def _duplicates(path: Path, importer: Importer, suspects: set[int], out: _Problems) -> None:
    """Read the file again for the keys whose hash came twice: each later row with the same
    key as an earlier one is a problem (a hash collision alone is not)."""
    first: dict[str, int] = {}
    shown = _Problems([])
    for line, row, problem in read(path, importer.layout):
        parsed = _parse(importer, line, row, problem, _Problems([]))
        if parsed is None:
            continue
        key = importer.key(parsed)
        if hash(key) & _HASH not in suspects:
            continue
        if key in first:
            shown.add(line, importer.duplicate(key, first[key]))
        else:
            first[key] = line
    out.total += shown.total
    out.shown = sorted(out.shown + shown.shown)


def spooled(spool: IO[bytes]) -> Iterator[tuple[int, list[Any]]]:
    """The batches check_file spooled: (line of the batch's first row, rows)."""
    spool.seek(0)
    while True:
        try:
            yield pickle.load(spool)
        except EOFError:
            return


async def write_file(
    spool: IO[bytes],
    importer: Importer,
    sessions: async_sessionmaker[AsyncSession],
    organisation_id: int,
    *,
    total: int,
    progress: Progress,
    stop: Callable[[], bool],
    rest: float = 0.0,
) -> ImportSummary:
    """Write the batches check_file spooled, each in its own transaction; after each, rest
    `rest` times as long as it took (the others' turn at the database). Stopped when `stop()`
    says so between batches; what was written stays written."""
    summary = ImportSummary()
    batches = spooled(spool)
    for _, batch in batches:
        began = time.monotonic()
        async with sessions() as session, session.begin():
            part = await importer.write(session, organisation_id, batch)
        summary.add(part)
        progress(summary.rows, total)
        if stop() and summary.rows < total:
            raise Stopped(summary, total, next(batches)[0])
        if rest:
            await asyncio.sleep((time.monotonic() - began) * rest)
    return summary
