"""Files the command line writes (`--out`, `--csv`): always a new file, named for what it holds.

A command checks the name before its work (`check`), so a mistake costs nothing, and writes
with `write` (which refuses a file that appeared meanwhile). Each refusal is one sentence
naming the file and the reason.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import click

from store.private_files import PRIVATE

_REASONS = {
    errno.ENOENT: "no such directory",
    errno.ENOTDIR: "part of its path is not a directory",
    errno.EISDIR: "it is a directory",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "the disk is full",
}


def reason(exc: OSError) -> str:
    """Why `exc` stopped a file being written, in a few words."""
    if exc.errno == errno.EEXIST:
        return "it already exists; choose another name, or delete it first"
    return _REASONS.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()


def problem(path: Path | str, exc: OSError) -> str:
    return f"Cannot write {path}: {reason(exc)}."


def check(out: Path, suffix: str, holds: str) -> None:
    """Refuse an `out` that names an existing file or directory, a missing directory, or a
    suffix other than `suffix` (what `holds` is written as)."""
    if out.is_dir():
        raise click.ClickException(problem(out, IsADirectoryError(errno.EISDIR, "")))
    if out.suffix.lower() != suffix:
        raise click.ClickException(
            f"{out} would hold {holds}, so its name must end in {suffix}: "
            f"choose a name such as {out.with_suffix(suffix).name}."
        )
    if out.exists() or out.is_symlink():
        raise click.ClickException(problem(out, FileExistsError(errno.EEXIST, "")))
    if not out.absolute().parent.is_dir():
        raise click.ClickException(problem(out, FileNotFoundError(errno.ENOENT, "")))


def write(out: Path, data: bytes) -> None:
    """Write `data` to the new file `out`; one line, not a traceback, when that cannot be done."""
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)  # people's data
    except OSError as exc:
        raise click.ClickException(problem(out, exc)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except OSError as exc:
        out.unlink(missing_ok=True)  # half a file is worse than none
        raise click.ClickException(problem(out, exc)) from None
