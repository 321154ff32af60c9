"""Files that hold personal data or secrets, created readable by their owner only (mode 0600):
`.env`, the SQLite database, report CSVs, the token codes file. A file that already exists
keeps the mode it has: someone may have set it on purpose."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE = 0o600


def write_private(path: Path | str, data: bytes, *, exclusive: bool = False) -> None:
    """Write `data` to `path`, creating it 0600 (an existing file is overwritten, its mode
    kept; with `exclusive`, an existing file is an error: FileExistsError)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def replace_private(path: Path, text: str) -> None:
    """Write `path` readable by its owner only, replacing it whole (no half-written file)."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(temporary, PRIVATE)
    os.replace(temporary, path)


def create_private(path: Path | str) -> None:
    """Create `path` empty and 0600 unless it exists. SQLite takes an empty file as a new
    database, and makes its -wal and -shm files with the database file's mode."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))
    except FileExistsError:
        pass
