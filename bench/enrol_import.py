"""Spreadsheet enrolment (seed 002): a BENCH_SHEET_ROWS-row template (default 10,000 people, an
x under two items) previewed and imported, and the clicks of a running bot meanwhile.

1. speed, in process on a fresh SQLite file (and PostgreSQL when BENCH_POSTGRES=1): staging
   the .xlsx and its final check (target <= 5 s), then Start import, enrol_many per item in
   batches with each person's learner message (target <= 10 s);
2. clicks: `enrolbot serve` on another SQLite file, warm clicks paced at BENCH_SHEET_RATE a
   second (default 50) before and while `enrolbot enrol import FILE --yes` of the same size
   runs beside it (the harness of bench/imports.py); the click acks' p99 in each phase
   (target <= 100 ms).

    python -m bench.enrol_import
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from bench import beside
from bench import common as c

ROWS = int(c.knob("BENCH_SHEET_ROWS", 10_000))
RATE = c.knob("BENCH_SHEET_RATE", 50)
CLICKERS = 2000  # people clicking bench-0 and bench-1; the sheet is for bench-2 and bench-3
SHEET_ITEMS = ("bench-2", "bench-3")


def write_sheet(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    from tests.support.seed import email_of

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Enrolments")
    sheet.append(["email", *(f"Bench ({slug})" for slug in SHEET_ITEMS)])
    for n in range(rows):
        sheet.append([email_of(n), "x", "x"])
    book.save(path)


async def speed(workdir: Path, db_url: str, label: str, sheet: Path) -> None:
    from handlers import enrol_import as imports
    from handlers import enrol_import_start as running
    from handlers.organisations import default_organisation
    from store.db import make_engine, make_sessionmaker

    await c.seed(db_url, users=ROWS, items=4, warm=False)
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session, session.begin():
            org_id = (await default_organisation(session)).id
        began = time.monotonic()
        import_id = await imports.stage(sessions, org_id, sheet, by="bench", by_user_id=None)
        async with sessions() as session, session.begin():
            shown = await imports.preview(session, org_id, import_id)
        previewed = time.monotonic() - began
        began = time.monotonic()
        done = await running.start(sessions, org_id, import_id, by_name="bench")
        imported = time.monotonic() - began
    finally:
        await engine.dispose()
    print(f"\n  speed ({ROWS:,} rows x {len(SHEET_ITEMS)} items, {label}, in process):")
    c.line("stage + final check", f"{previewed:.1f} s", "<= 5 s", previewed <= 5)
    print(f"      ({shown.enrolments:,} enrolments to make; ratio to target {previewed / 5:.2f})")
    c.line("Start import", f"{imported:.1f} s", "<= 10 s", imported <= 10)
    print(
        f"      ({done.enrolled:,} enrolments, {done.people:,} people told; "
        f"ratio to target {imported / 10:.2f})"
    )


async def clicks(workdir: Path, sheet: Path) -> None:
    await beside.clicks(
        workdir,
        ["enrol", "import", str(sheet), "--yes"],
        f"enrol import --yes of {ROWS:,} rows",
        rate=RATE,
        clickers=CLICKERS,
        users=ROWS,
        tokens=2,
    )


async def main() -> None:
    c.header("enrol import: a spreadsheet previewed and imported, clicks answered meanwhile")
    with c.workdir("bench-enrol-import-") as wd:
        sheet = wd / "sheet.xlsx"
        write_sheet(sheet, ROWS)
        db_url = f"sqlite+aiosqlite:///{wd / 'speed.db'}"
        c.run_enrolbot(wd, {"DATABASE_URL": db_url}, "db", "upgrade")
        await speed(wd, db_url, "SQLite", sheet)
        if os.environ.get("BENCH_POSTGRES"):
            await c.pg_execute("DROP DATABASE IF EXISTS bench_sheet")
            await c.pg_execute("CREATE DATABASE bench_sheet")
            pg = c.pg_admin_url().rsplit("/", 1)[0] + "/bench_sheet"
            pg_url = pg.replace("postgresql://", "postgresql+asyncpg://")
            c.run_enrolbot(wd, {"DATABASE_URL": pg_url}, "db", "upgrade")
            await speed(wd, pg_url, "PostgreSQL", sheet)
        await clicks(wd, sheet)


if __name__ == "__main__":
    started = time.monotonic()
    asyncio.run(main())
    print(f"  (ran in {time.monotonic() - started:.0f}s)")
