"""Reading an import spreadsheet (CSV) as a stream, with line numbers, so every error can point
at its row and a file of any size reads in the same memory.

What goes wrong with real files, and is named here rather than imported as nonsense: a file
saved with semicolons or tabs (Excel in many locales), the other import's file, a quote that is
never closed (it swallows the following rows into one cell), NUL bytes (UTF-16 or binary
files), text that is not UTF-8.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path


class FileProblem(Exception):
    """A file that cannot be imported; nothing was written. The message names the line."""

    def __init__(self, line: int | None, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}" if line else reason)


class RowProblem(Exception):
    """One row that is wrong; the reader carries on, to report every such row at once."""


class RowProblems(Exception):
    """Rows that are wrong, in line order: the first `problems`, and how many there are."""

    def __init__(self, problems: list[tuple[int, str]], total: int) -> None:
        self.problems = problems
        self.total = total
        super().__init__(f"{total} rows are wrong")


@dataclass(frozen=True)
class Layout:
    """The columns of one kind of import file, and how to tell a row of it without a header."""

    name: str  # "catalog", "users": what a person calls the file
    command: str  # the command that imports it
    required: tuple[str, ...]
    optional: tuple[str, ...]
    looks_like: Callable[[list[str]], bool]
    headed: tuple[str, ...] = ()  # optional columns a file may have only under a header row

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns of a file without a header, in order."""
        return self.required + self.optional

    @property
    def known(self) -> tuple[str, ...]:
        """Every column a header may name."""
        return self.columns + self.headed

    def describe(self) -> str:
        return (
            ",".join(self.required)
            + "".join(f"[,{c}" for c in self.optional)
            + "]" * len(self.optional)
        )


CATALOG = Layout(
    "catalog",
    "catalog import",
    ("slug", "kind", "title"),
    ("source", "url"),
    lambda cells: len(cells) > 1 and cells[1].lower() in ("topic", "article", "pathway"),
    ("moodle_course_id",),  # the item's Moodle course (bot/moodle), named in a header
)
USERS = Layout(
    "users",
    "users import",
    ("email", "first_name", "last_name"),
    ("type",),
    lambda cells: "@" in cells[0] and " " not in cells[0],
    # The directory's columns (handlers.users_import), named in a header.
    (
        "company",
        "department",
        "team",
        "function",
        "manager_email",
        "language",
        "hire_date",
        "groups",
    ),
)
TOKENS = Layout(
    "tokens",
    "tokens import",
    ("item", "nickname"),
    ("status",),
    lambda cells: len(cells) == 3 and cells[2].lower() in ("active", "deactivated"),
)
_GROUP_KINDS = ("company", "department", "team", "function", "group", "qualification")
GROUPS = Layout(
    "groups",
    "groups import",
    ("group", "kind", "email"),
    (),
    lambda cells: len(cells) == 3 and cells[1].lower() in _GROUP_KINDS and "@" in cells[2],
)
COMPLETIONS = Layout(
    "completions",
    "completions import",
    ("email", "item", "completed_at"),
    ("score",),
    lambda cells: len(cells) >= 3 and "@" in cells[0] and cells[2][:4].isdigit(),
)
INVITATIONS = Layout(
    "invitations",
    "invite import",
    ("email", "group"),
    ("type",),
    lambda cells: (
        "@" in cells[0]
        and (len(cells) == 2 or (len(cells) == 3 and cells[2].lower() in ("", "staff", "client")))
    ),
)
LAYOUTS = (CATALOG, USERS, TOKENS, GROUPS, COMPLETIONS, INVITATIONS)


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged

    def add(self, other: ImportSummary) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged

    def describe(self, noun: str) -> str:
        """A sentence about the import; `noun` is singular ("item") and takes an s."""
        if not self.changed:
            count = f"{self.unchanged} {noun}" + ("s" if self.unchanged != 1 else "")
            return f"Nothing changed: {count} already up to date."
        parts = [f"{self.created} created", f"{self.updated} updated"]
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged")
        return f"Imported {noun}s: " + ", ".join(parts) + "."


Row = tuple[int, dict[str, str] | None, str | None]
SPREADSHEETS = (".xls", ".xlsm", ".ods", ".numbers")  # saved as .xlsx or CSV, they import


def read(path: Path, layout: Layout) -> Iterator[Row]:
    """(line number, row, None) for every non-blank row, or (line, None, reason) for a row with
    the wrong number of columns. A first row naming the columns is a header and may put them in
    any order; otherwise the columns are taken in the documented order. Problems with the file
    as a whole raise FileProblem. A `.xlsx` file is read from its first sheet, its line numbers
    being the sheet's row numbers (handlers.xlsxfile)."""
    if path.suffix.lower() == ".xlsx":
        from handlers.xlsxfile import records  # openpyxl loads only for a spreadsheet

        return _rows(records(path), layout)
    if path.suffix.lower() in SPREADSHEETS:
        raise FileProblem(None, "save the spreadsheet as .xlsx or as CSV UTF-8, then import that")
    return _rows(_csv_records(path), layout)


def _csv_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of each CSV record, its cells stripped."""
    with path.open("rb") as raw:
        reader = csv.reader(_lines(raw))
        last = 0
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FileProblem(last + 1, f"not readable as CSV ({exc})") from None
            start, last = last + 1, reader.line_num
            # Only a quoted cell holds a line break: the record then spans lines, or, at the
            # end of the file, its last cell ends with one.
            if last > start or (record and record[-1].endswith(("\n", "\r"))):
                _no_swallowed_lines(record, start, last)
            yield start, [c.strip() for c in record]


def _rows(records: Iterator[tuple[int, list[str]]], layout: Layout) -> Iterator[Row]:
    header: list[str] | None = None
    for start, cells in records:
        if not any(cells):
            continue
        if header is None:
            header = _header(cells, layout, start)
            if header is not None:
                continue
            header = list(layout.columns)
        if len(cells) > len(header) or len(cells) < len(layout.required):
            yield start, None, _expected(layout, len(cells))
            continue
        yield start, dict(zip(header, cells, strict=False)), None


def _expected(layout: Layout, found: int) -> str:
    if not layout.optional:
        wanted = f"{len(layout.required)} columns: {', '.join(layout.required)};"
    else:
        wanted = f"{len(layout.required)} to {len(layout.columns)} columns ({layout.describe()}),"
    return f"expected {wanted} found {found}"


def _lines(raw: Iterator[bytes]) -> Iterator[str]:
    """The file's lines as text, checked one by one, so a problem has its exact line number."""
    for number, line in enumerate(raw, 1):
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):  # Excel's "CSV UTF-8" writes a BOM
            line = line[3:]
        if b"\0" in line:
            raise FileProblem(
                number,
                "holds a NUL byte, which is not text: is it a UTF-16 or spreadsheet file? "
                "Save it as CSV UTF-8",
            )
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError:
            raise FileProblem(number, "not UTF-8 text; save the spreadsheet as CSV UTF-8") from None


def _no_swallowed_lines(record: list[str], start: int, end: int) -> None:
    """A cell with a line break is a quote left open: the rows after it became its text."""
    if not any("\n" in c or "\r" in c for c in record):
        return
    # A quote still open at the end of the file keeps that last line's line break.
    closed = "is never closed" if record[-1].endswith(("\n", "\r")) else f"runs on to line {end}"
    swallowed = f"line {end}" if end == start + 1 else f"lines {start + 1} to {end}"
    what = f"{closed}, so {swallowed} became part of one cell" if end > start else closed
    raise FileProblem(
        start,
        f"a quote opened on this line {what}; close it (a quote inside a cell is written "
        'twice: "")',
    )


def header_of(cells: list[str], layout: Layout) -> bool:
    """Whether a first row is a header of this layout: every column it names is one of the
    layout's, and its required columns are all there."""
    names = {c.lower() for c in cells if c}
    return all(n in names for n in layout.required) and names <= set(layout.known)


def _header(cells: list[str], layout: Layout, line: int) -> list[str] | None:
    names = [c.lower() for c in cells]
    _right_separator(cells, layout, line)
    if not header_of(cells, layout):
        other = _other_header(names, layout)
        if other is not None:
            raise _other_file(other, line)
    if layout.required[0] not in names:
        for other in LAYOUTS:
            if other is not layout and other.looks_like(cells) and not layout.looks_like(cells):
                raise _other_file(other, line)
        return None
    unknown = [n for n in names if n not in layout.known]
    if unknown:
        raise FileProblem(
            line, f"unknown column '{unknown[0]}'; the columns are {', '.join(layout.known)}"
        )
    missing = [n for n in layout.required if n not in names]
    if missing:
        raise FileProblem(line, f"the header has no '{missing[0]}' column")
    return names


def _other_header(names: list[str], layout: Layout) -> Layout | None:
    """The other import whose header this is: one that knows every column named, or else
    (this import's first column missing) one whose first column is named."""
    others = [o for o in LAYOUTS if o is not layout]
    for other in others:
        if header_of(names, other):
            return other
    if layout.required[0] in names:
        return None
    return next((o for o in others if o.required[0] in names), None)


def _right_separator(cells: list[str], layout: Layout, line: int) -> None:
    if len(cells) >= len(layout.required):
        return
    text = ",".join(cells)
    for separator, name in ((";", "semicolons (;)"), ("\t", "tabs")):
        if text.count(separator) >= len(layout.required) - 1:
            raise FileProblem(
                line,
                f"the columns are separated by {name}, not commas; save the file as CSV "
                "with commas (in Excel: CSV UTF-8 (Comma delimited))",
            )


def _other_file(other: Layout, line: int) -> FileProblem:
    return FileProblem(
        line,
        f"this is {'an' if other.name[0] in 'aeio' else 'a'} {other.name} file "
        f"({other.describe()}): import it with "
        f"`enrolbot {other.command}`",
    )
