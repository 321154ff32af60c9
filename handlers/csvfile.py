"""Reading an import spreadsheet (CSV) with line numbers, so every error can point at its row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field


class FileProblem(Exception):
    """A file that cannot be imported; nothing was written. The message names the line."""

    def __init__(self, line: int | None, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}" if line else reason)


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def describe(self, noun: str) -> str:
        """A sentence about the import; `noun` is singular ("item") and takes an s."""
        if not self.changed:
            count = f"{self.unchanged} {noun}" + ("s" if self.unchanged != 1 else "")
            return f"Nothing changed: {count} already up to date."
        parts = [f"{self.created} created", f"{self.updated} updated"]
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged")
        return f"Imported {noun}s: " + ", ".join(parts) + "."


def rows(
    text: str, required: list[str], optional: list[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for every non-blank row. A first row naming the columns is a header and
    may put them in any order; otherwise the columns are taken in the documented order."""
    columns = required + optional
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))  # Excel writes a BOM
    header: list[str] | None = None
    try:
        for record in reader:
            line = reader.line_num
            cells = [c.strip() for c in record]
            if not any(cells):
                continue
            if header is None:
                header = _header(cells, required, columns, line)
                if header is not None:
                    continue
                header = columns
            if len(cells) > len(header) or len(cells) < len(required):
                raise FileProblem(
                    line,
                    f"expected {len(required)} to {len(columns)} columns "
                    f"({','.join(required)}[,{','.join(optional)}]), found {len(cells)}",
                )
            yield line, dict(zip(header, cells, strict=False))
    except csv.Error as exc:
        raise FileProblem(reader.line_num, f"not readable as CSV ({exc})") from None


def _header(
    cells: list[str], required: list[str], columns: list[str], line: int
) -> list[str] | None:
    names = [c.lower() for c in cells]
    if required[0] not in names:
        return None
    unknown = [n for n in names if n not in columns]
    if unknown:
        raise FileProblem(
            line, f"unknown column '{unknown[0]}'; the columns are {', '.join(columns)}"
        )
    missing = [n for n in required if n not in names]
    if missing:
        raise FileProblem(line, f"the header has no '{missing[0]}' column")
    return names
