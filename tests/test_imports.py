"""`catalog import` and `users import` on real files and real databases, run as an admin runs
them: every problem named with its line before anything is written, the wrong file or format
named as such, progress on a terminal, Ctrl-C between batches and a re-run that finishes."""

from __future__ import annotations

import asyncio
import os
import pty
import signal
import subprocess
import time

import pytest
from sqlalchemy import func, select

from store.db import make_engine, make_sessionmaker
from store.models import CatalogItem, EnrolmentLink, User
from tests.support.processes import ENROLBOT, enrolbot, env


def count(url: str, model: type, *where: object) -> int:
    async def run() -> int:
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as s:
                return await s.scalar(select(func.count()).select_from(model).where(*where))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def catalog_rows(n: int, start: int = 0) -> str:
    return "".join(f"item-{i},topic,Item {i}\n" for i in range(start, start + n))


def test_every_bad_row_is_named_with_its_line_up_to_twenty_and_nothing_is_written(tmp_path, db_url):
    rows = ["slug,kind,title"]
    for i in range(2, 1502):
        rows.append(f"item-{i},course,Item {i}" if i % 50 == 0 else f"item-{i},topic,Item {i}")
    rows.append("item-2,topic,Again")  # the last row repeats the first: found before writing
    csv = tmp_path / "catalog.csv"
    csv.write_text("\n".join(rows) + "\n")
    result = enrolbot("catalog", "import", str(csv), cwd=tmp_path, DATABASE_URL=db_url)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"Error: {csv}: 31 rows are wrong; nothing was imported:"
    assert lines[1] == "  line 50: kind 'course' is not one of topic, article, pathway"
    assert lines[20] == "  line 1000: kind 'course' is not one of topic, article, pathway"
    assert lines[21:] == ["  ...and 11 more."]
    assert count(db_url, CatalogItem) == 0

    csv.write_text("slug,kind,title\n" + catalog_rows(1500) + "item-7,topic,Again\n")
    result = enrolbot("catalog", "import", str(csv), cwd=tmp_path, DATABASE_URL=db_url)
    assert result.stderr.strip() == (
        f"Error: {csv}: line 1502: slug 'item-7' is already on line 9; nothing was imported."
    )
    assert count(db_url, CatalogItem) == 0


def test_a_file_of_several_batches_is_imported_whole_and_a_changed_kind_is_refused(
    tmp_path, db_url
):
    csv = tmp_path / "catalog.csv"
    csv.write_text(catalog_rows(2500))
    result = enrolbot("catalog", "import", str(csv), cwd=tmp_path, DATABASE_URL=db_url)
    assert result.stdout.strip() == "Imported items: 2500 created, 0 updated."
    assert count(db_url, CatalogItem) == 2500
    assert count(db_url, EnrolmentLink, EnrolmentLink.is_default.is_(True)) == 2500
    csv.write_text(catalog_rows(1999) + "item-1999,article,Now an article\n")
    result = enrolbot("catalog", "import", str(csv), cwd=tmp_path, DATABASE_URL=db_url)
    assert result.stderr.strip() == (
        f"Error: {csv}: line 2000: 'item-1999' is already a topic; an item's kind cannot change "
        "(give the new one another slug); nothing was imported."
    )


@pytest.mark.parametrize(
    ("command", "rows", "says"),
    [
        (
            "catalog",
            "email,first_name,last_name\nann@example.com,Ann,Lee\n",
            "line 1: this is a users file (email,first_name,last_name[,type]): import it with "
            "`enrolbot users import`",
        ),
        (
            "catalog",
            "ann@example.com,Ann,Lee\n",
            "line 1: this is a users file (email,first_name,last_name[,type]): import it with "
            "`enrolbot users import`",
        ),
        (
            "users",
            "slug,kind,title\nsafety-101,topic,Safety 101\n",
            "line 1: this is a catalog file (slug,kind,title[,source[,url]]): import it with "
            "`enrolbot catalog import`",
        ),
        (
            "users",
            "safety-101,topic,Safety 101\n",
            "line 1: this is a catalog file (slug,kind,title[,source[,url]]): import it with "
            "`enrolbot catalog import`",
        ),
        (
            "catalog",
            "slug;kind;title\nsafety-101;topic;Safety 101\n",
            "line 1: the columns are separated by semicolons (;), not commas; save the file as "
            "CSV with commas (in Excel: CSV UTF-8 (Comma delimited))",
        ),
        (
            "users",
            "ann@example.com\tAnn\tLee\n",
            "line 1: the columns are separated by tabs, not commas; save the file as CSV with "
            "commas (in Excel: CSV UTF-8 (Comma delimited))",
        ),
        (
            # The quote before Safety is never closed: the three rows below it became its title.
            "catalog",
            'slug,kind,title\na,topic,"Safety 101\nb,topic,B\nc,topic,C\nd,topic,D\n',
            "line 2: a quote opened on this line is never closed, so lines 3 to 5 became part "
            'of one cell; close it (a quote inside a cell is written twice: "")',
        ),
        (
            "catalog",
            'slug,kind,title\na,topic,A\nb,topic,"Safety\nc,topic,C"\nd,topic,D\n',
            "line 3: a quote opened on this line runs on to line 4, so line 4 became part of "
            'one cell; close it (a quote inside a cell is written twice: "")',
        ),
    ],
)
def test_the_wrong_file_or_format_is_named_and_nothing_is_written(
    tmp_path, db_url, command, rows, says
):
    csv = tmp_path / "file.csv"
    csv.write_text(rows)
    result = enrolbot(command, "import", str(csv), cwd=tmp_path, DATABASE_URL=db_url)
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error: {csv}: {says}; nothing was imported."
    assert count(db_url, CatalogItem) == count(db_url, User) == 0


def test_nul_bytes_are_refused_with_their_line_on_every_database(tmp_path, db_url):
    csv = tmp_path / "users.csv"
    csv.write_bytes(b"email,first_name,last_name\nann@example.com,Ann,Lee\nbo@example.com,B\0o,C\n")
    result = enrolbot("users", "import", str(csv), cwd=tmp_path, DATABASE_URL=db_url)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: {csv}: line 3: holds a NUL byte, which is not text: is it a UTF-16 or "
        "spreadsheet file? Save it as CSV UTF-8; nothing was imported."
    )
    assert count(db_url, User) == 0


def test_ctrl_c_stops_between_batches_says_how_far_and_a_rerun_finishes(tmp_path, db_url):
    total = 60_000
    csv = tmp_path / "users.csv"
    csv.write_text("".join(f"person{i}@example.com,First{i},Last{i}\n" for i in range(total)))
    process = subprocess.Popen(
        [str(ENROLBOT), "users", "import", str(csv)],
        cwd=tmp_path,
        env=env(DATABASE_URL=db_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while count(db_url, User) == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    written = count(db_url, User)
    assert process.returncode == 130, err
    assert 0 < written < total
    assert err.strip().endswith(
        f"Stopped after writing {written:,} of {total:,} rows (up to line {written}). Run the "
        "same import again to finish: the rows already written are left as they are."
    )
    assert out == ""
    again = enrolbot("users", "import", str(csv), cwd=tmp_path, DATABASE_URL=db_url)
    assert again.stdout.strip() == (
        f"Imported users: {total - written} created, 0 updated, {written} unchanged."
    )
    assert count(db_url, User) == total


def test_a_terminal_sees_a_progress_bar_with_rows_per_second(tmp_path, db_url):
    csv = tmp_path / "catalog.csv"
    csv.write_text(catalog_rows(5000))
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(ENROLBOT), "catalog", "import", str(csv)],
        cwd=tmp_path,
        env=env(DATABASE_URL=db_url),
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    screen = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        screen += chunk
    os.close(controller)
    assert process.wait(timeout=60) == 0
    text = screen.decode()
    assert f"\rWriting catalog.csv [{'#' * 30}] 100% 5,000/5,000 rows, " in text
    assert "rows/s" in text
    assert text.rstrip().endswith("Imported items: 5000 created, 0 updated.")


def test_a_short_import_prints_only_its_summary_when_not_on_a_terminal(tmp_path, db_url):
    csv = tmp_path / "catalog.csv"
    csv.write_text(catalog_rows(3))
    result = enrolbot("catalog", "import", str(csv), cwd=tmp_path, DATABASE_URL=db_url)
    assert (result.stdout, result.stderr) == ("Imported items: 3 created, 0 updated.\n", "")


def test_a_longer_file_adds_only_its_new_items_each_with_one_default_link(tmp_path, db_url):
    csv = tmp_path / "catalog.csv"
    csv.write_text(catalog_rows(3))
    assert (
        enrolbot("catalog", "import", str(csv), cwd=tmp_path, DATABASE_URL=db_url).returncode == 0
    )
    csv.write_text(catalog_rows(5))
    result = enrolbot("catalog", "import", str(csv), cwd=tmp_path, DATABASE_URL=db_url)
    assert result.stdout.strip() == "Imported items: 2 created, 0 updated, 3 unchanged."
    assert count(db_url, EnrolmentLink) == 5
