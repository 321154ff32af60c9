"""Printing figures beside their targets, and the header that says what they were measured on:
the machine, its load average at the start, and the commit."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

from tests.support.processes import REPO


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def line(label: str, value: str, target: str = "", ok: bool | None = None) -> None:
    mark = "" if ok is None else f"  [{verdict(ok)}]"
    tgt = f"   target {target}" if target else ""
    print(f"  {label:<46} {value:>14}{tgt}{mark}", flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def machine() -> str:
    model = "?"
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                model = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}, "
        f"load average {load:.2f} at start; code {revision()}"
    )


def revision() -> str:
    """The commit the figures are for, and whether the work tree differed from it (read-only:
    --no-optional-locks keeps git from refreshing the index)."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "--no-optional-locks", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD") or "?"
        changed = git("status", "--porcelain", "--untracked-files=no")
    except OSError:
        return "?"
    return f"{head}+uncommitted changes" if changed else head


def header(title: str) -> None:
    print(f"== {title}", flush=True)
    print(f"   machine: {machine()}", flush=True)
