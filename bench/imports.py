"""Imports: speed, memory, and the clicks of a running bot while an import writes.

1. speed: `enrolbot catalog import` and `enrolbot users import` of BENCH_IMPORT_ROWS rows
   (default 100,000) into a fresh SQLite file, wall time of the whole command (check and
   write), and a second run of the same file (nothing to change);
2. memory: peak RSS of `enrolbot users import` of BENCH_IMPORT_MEMORY_ROWS rows (200,000 by
   default, a size CI can afford; BENCH_IMPORT_FULL=1 runs the full 1,000,000 the target is
   for);
3. clicks: `enrolbot serve` on the same SQLite file, warm clicks paced at BENCH_IMPORT_RATE a
   second (default 50) before and while a catalog import of BENCH_IMPORT_ROWS rows runs
   beside it; the click acks' p99 in each phase.

    python -m bench.imports
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

from bench import beside
from bench import common as c

ROWS = int(c.knob("BENCH_IMPORT_ROWS", 100_000))
FULL = bool(os.environ.get("BENCH_IMPORT_FULL"))
MEMORY_ROWS = int(c.knob("BENCH_IMPORT_MEMORY_ROWS", 1_000_000 if FULL else 200_000))
RATE = c.knob("BENCH_IMPORT_RATE", 50)
USERS = 2000


def write_catalog(path: Path, rows: int, first: int = 0) -> None:
    with path.open("w") as out:
        out.write("slug,kind,title,source,url\n")
        for i in range(first, first + rows):
            out.write(f"item-{i},topic,Imported topic {i},own,https://learn.acme.test/{i}\n")


def write_users(path: Path, rows: int) -> None:
    with path.open("w") as out:
        out.write("email,first_name,last_name,type\n")
        for i in range(rows):
            out.write(f"import{i}@acme.test,First{i},Last{i},staff\n")


def run_import(workdir: Path, settings: dict[str, str], *args: str) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB and output of one `enrolbot` command."""
    command, environment = c.enrolbot_command(settings)
    began = time.monotonic()
    process = subprocess.Popen(
        [*command, *args],
        cwd=workdir,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"enrolbot {' '.join(args)} failed: {output}")
    return time.monotonic() - began, usage.ru_maxrss / 1024, output.strip().splitlines()[-1]


def speed(workdir: Path) -> None:
    settings = {"DATABASE_URL": f"sqlite:///{workdir / 'speed.db'}"}
    catalog, people = workdir / "catalog.csv", workdir / "users.csv"
    write_catalog(catalog, ROWS)
    write_users(people, ROWS)
    c.run_enrolbot(workdir, settings, "db", "upgrade")
    print(f"\n  speed ({ROWS:,} rows, SQLite):", flush=True)
    for name, path in (("catalog", catalog), ("users", people)):
        seconds, _, said = run_import(workdir, settings, name, "import", str(path))
        c.line(f"{name} import, {ROWS:,} new rows", f"{seconds:.1f} s", "<= 10 s", seconds <= 10)
        print(f"      ({said}; {ROWS / seconds:,.0f} rows/s, ratio to target {seconds / 10:.2f})")
        again, _, said = run_import(workdir, settings, name, "import", str(path))
        c.line(f"{name} import again, nothing to change", f"{again:.1f} s", "<= 10 s", again <= 10)


def memory(workdir: Path) -> None:
    settings = {"DATABASE_URL": f"sqlite:///{workdir / 'memory.db'}"}
    people = workdir / "many-users.csv"
    write_users(people, MEMORY_ROWS)
    c.run_enrolbot(workdir, settings, "db", "upgrade")
    size = "full size" if MEMORY_ROWS >= 1_000_000 else "CI size; BENCH_IMPORT_FULL=1 for 1,000,000"
    print(f"\n  memory ({MEMORY_ROWS:,} users, {size}):", flush=True)
    seconds, peak, said = run_import(workdir, settings, "users", "import", str(people))
    c.line("peak RSS of users import", f"{peak:.0f} MB", "<= 200 MB", peak <= 200)
    print(f"      ({said}; {seconds:.1f} s, {MEMORY_ROWS / seconds:,.0f} rows/s)")


async def clicks(workdir: Path) -> None:
    catalog = workdir / "clicks-catalog.csv"
    write_catalog(catalog, ROWS, first=10_000_000)
    await beside.clicks(
        workdir,
        ["catalog", "import", str(catalog)],
        f"import of {ROWS:,} rows",
        rate=RATE,
        clickers=USERS,
    )


async def main() -> None:
    c.header("imports: speed, memory, and clicks beside a running import")
    with c.workdir("bench-imports-") as wd:
        speed(wd)
        memory(wd)
        await clicks(wd)


if __name__ == "__main__":
    started = time.monotonic()
    asyncio.run(main())
    print(f"  (ran in {time.monotonic() - started:.0f}s)")
