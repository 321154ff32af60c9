"""Reading an import spreadsheet saved as .xlsx (Excel's own format), as handlers.csvfile reads
CSV: row by row from the first sheet, with the sheet's row numbers as line numbers.

openpyxl's read-only mode streams the sheet. Cells come back as what they hold (numbers, dates,
text); each becomes the text a person sees, and the empty cells right of the table are dropped.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from handlers.csvfile import FileProblem


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _is_text(path: Path) -> bool:
    """Whether the file starts as text does (a CSV given a spreadsheet's name), not as the zip
    an .xlsx is."""
    try:
        with path.open("rb") as raw:
            head = raw.read(4096)
    except OSError:
        return False
    if not head or b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a character cut at the end of what was read is text
        if exc.start < len(head) - 3:
            return False
    return True


def records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for each row of the workbook's first sheet."""
    from openpyxl import load_workbook  # only when a spreadsheet is imported

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        if _is_text(path):
            raise FileProblem(
                None,
                f"this file is CSV text named {path.suffix}: rename it to .csv (or save it from "
                "Excel as .xlsx)",
            ) from None
        raise FileProblem(
            None,
            f"not readable as an .xlsx spreadsheet ({type(exc).__name__}); save it again "
            "from Excel as .xlsx, or as CSV UTF-8",
        ) from None
    try:
        sheet = workbook.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), 1):
            cells = [_text(v) for v in row]
            while cells and not cells[-1]:
                cells.pop()
            yield number, cells
    finally:
        workbook.close()
