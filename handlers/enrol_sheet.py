"""The enrolment spreadsheet (seed 002): the template `enrol template` hands out, and reading the
filled file back, .xlsx or CSV.

The template's first sheet has a column of emails and one column per chosen item, headed by its
title and slug ("Fire safety (fire-safety)"); an "x" under an item enrols that person in it. A
second sheet says so. Reading takes the slug from each header's last parentheses (or the whole
header when it is a bare slug), so titles may change without breaking a file already handed out.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from handlers.csvfile import FileProblem, _csv_records
from handlers.users import normalise_email
from store.models import CatalogItem

SHEET = "Enrolments"
MARKS = frozenset({"x"})
_SLUG_IN_HEADER = re.compile(r"\(([^()]+)\)\s*$")

INSTRUCTIONS = (
    "How to fill in this file",
    "",
    "1. On the Enrolments sheet, put one email address per row in the email column.",
    "2. Put an x under each item that person should be enrolled in; leave the others empty.",
    "3. Keep the header row as it is: each column names its item by title and (slug).",
    "4. Save as .xlsx (or CSV UTF-8) and send it back: drop it into the form that "
    "`enrol import` opens in Slack, send it to the bot in Teams, or run "
    "`enrolbot enrol import FILE`.",
    "",
    "You see a preview first: who will be enrolled in what, who cannot be and why (by row), "
    "and who is enrolled already. Nothing changes until you choose Start import; then each "
    "person enrolled gets one message saying so.",
)


def column_title(item: CatalogItem) -> str:
    return f"{item.title} ({item.slug})"


def template(items: list[CatalogItem]) -> bytes:
    """The .xlsx template for these items."""
    from openpyxl import Workbook  # only when a template is made
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    headers = ["email", *(column_title(i) for i in items)]
    for column, text in enumerate(headers, 1):
        cell = sheet.cell(row=1, column=column)
        cell.value = text
        cell.data_type = "s"  # a title starting with "=" stays text, never a formula
        cell.font = Font(bold=True)
        sheet.column_dimensions[cell.column_letter].width = max(14, min(len(text) + 2, 40))
    sheet.column_dimensions["A"].width = 36
    sheet.freeze_panes = "B2"
    if items:
        marks = DataValidation(type="list", formula1='"x"', allow_blank=True)
        last = sheet.cell(row=1, column=len(headers)).column_letter
        marks.add(f"B2:{last}10001")
        sheet.add_data_validation(marks)
    guide = book.create_sheet("Instructions")
    for row, text in enumerate(INSTRUCTIONS, 1):
        cell = guide.cell(row=row, column=1)
        cell.value = text
        cell.data_type = "s"
    guide["A1"].font = Font(bold=True)
    guide.column_dimensions["A"].width = 100
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template_name(items: list[CatalogItem]) -> str:
    slugs = "-".join(i.slug for i in items[:3]) + ("-and-more" if len(items) > 3 else "")
    return f"enrol-{slugs}.xlsx"


@dataclass(frozen=True)
class Mark:
    """Line `line` asks that `email` be enrolled in the item of column `column` (0-based among
    the item columns); or a row that cannot be read, with its `problem`."""

    line: int
    email: str = ""
    column: int = -1
    problem: str | None = None


def slugs_of(header: list[str], line: int) -> list[str]:
    """The item slugs a header row names, in column order; FileProblem when it is not one."""
    if not header or header[0].strip().lower() != "email":
        raise FileProblem(
            line,
            "the first row must be the header: email, then one column per item (as "
            "`enrol template ITEMS...` makes it)",
        )
    slugs = []
    for cell in header[1:]:
        found = _SLUG_IN_HEADER.search(cell)
        slug = (found.group(1) if found else cell).strip().lower()
        if not slug:
            raise FileProblem(line, f"column {len(slugs) + 2} has no heading: name its item")
        slugs.append(slug)
    if not slugs:
        raise FileProblem(line, "the header names no items: add a column per item")
    return slugs


def records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of every row of a .xlsx or CSV file."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from handlers.xlsxfile import records as sheet_rows

        return sheet_rows(path)
    if suffix in (".xls", ".xlsm", ".ods", ".numbers"):
        raise FileProblem(None, "save the spreadsheet as .xlsx or as CSV UTF-8, then send that")
    return _csv_records(path)


def read(path: Path) -> tuple[list[str], Iterator[Mark]]:
    """The file's item slugs, and its marks row by row (blank rows skipped); FileProblem when
    the file as a whole cannot be read."""
    rows = (r for r in records(path) if any(r[1]))
    try:
        line, header = next(rows)
    except StopIteration:
        raise FileProblem(None, "the file is empty: fill in the template first") from None
    slugs = slugs_of(header, line)
    return slugs, _marks(rows, len(slugs))


def _marks(rows: Iterator[tuple[int, list[str]]], width: int) -> Iterator[Mark]:
    seen: dict[str, int] = {}
    for line, cells in rows:
        raw = cells[0].strip() if cells else ""
        email = normalise_email(raw)
        if email is None:
            what = f"'{raw[:80]}' is not an email address" if raw else "the email is empty"
            yield Mark(line, raw[:320].lower(), problem=what)
            continue
        if email in seen:
            yield Mark(line, email, problem=f"{email} is already on row {seen[email]}")
            continue
        seen[email] = line
        yield from _row_marks(line, email, cells[1:], width)


def _row_marks(line: int, email: str, cells: list[str], width: int) -> Iterator[Mark]:
    if len(cells) > width:
        extra = next((c for c in cells[width:] if c.strip()), None)
        if extra is not None:
            yield Mark(line, email, problem="a mark is in a column with no item heading")
            return
    wanted = []
    for column, cell in enumerate(cells[:width]):
        mark = cell.strip().lower()
        if not mark:
            continue
        if mark not in MARKS:
            problem = f"'{cell[:20]}' is not a mark: put x to enrol, or leave it empty"
            yield Mark(line, email, problem=problem)
            return
        wanted.append(column)
    for column in wanted:
        yield Mark(line, email, column)
