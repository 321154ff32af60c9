"""Writing CSV that people open in a spreadsheet: every CSV the product writes goes through here
(csvfile.py beside it reads the ones they import).

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula, and one starting
with a tab or carriage return can hide such a start; names, labels and emails come from people,
so each such cell gets a leading single quote and is read as text (OWASP, "CSV Injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Excel reads a file without a byte order mark as the local code page, not UTF-8.
BOM = "\ufeff"

Cell = str | int | None


def neutralise(cell: Cell) -> str:
    """A cell's text, quoted so that a spreadsheet shows it rather than runs it."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """A UTF-8 CSV (with a byte order mark, for Excel) of `header` and `rows`, every cell
    neutralised."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow([neutralise(c) for c in header])
    writer.writerows([neutralise(c) for c in row] for row in rows)
    return out.getvalue().encode("utf-8")
