"""`enrolbot report ITEM [--type T] [--since DATE] --csv FILE` as an admin runs it."""

from __future__ import annotations

import csv
import io

from handlers.csvwrite import BOM
from tests.support import seed
from tests.support.processes import enrolbot
from tests.support.syncdb import SyncDB


def test_report_prints_the_summary_and_writes_the_csv(tmp_path, db_url):
    db = SyncDB(db_url)
    db.run(seed.organisation())
    db.run(seed.report_enrolments)
    out = tmp_path / "safety.csv"
    done = enrolbot("report", "safety-101", "--csv", str(out), cwd=tmp_path, DATABASE_URL=db_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "3 enrolments in Safety 101, 1 completed.",
        "By user type: 1 staff, 1 client, 1 prospect.",
        "By source: by hand: 1, link: 1, spreadsheet: 1.",
        f"Wrote 3 enrolments to {out}.",
    ]
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode().removeprefix(BOM))))
    assert sorted(r["email"] for r in rows) == [
        "done@acme.test",
        "formula@client.test",
        "pat@prospect.test",
    ]
    formula = next(r for r in rows if r["email"] == "formula@client.test")
    assert (formula["first name"], formula["source"]) == ("'=cmd|' /C calc'!A0", "by hand")

    # To standard output, filtered: the CSV alone there, the summary on standard error.
    piped = enrolbot(
        "report",
        "safety-101",
        "--type",
        "prospect",
        "--csv",
        "-",
        cwd=tmp_path,
        DATABASE_URL=db_url,
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr.splitlines()[0] == "1 enrolment in Safety 101 (prospect only), 0 completed."
    assert [r["email"] for r in csv.DictReader(io.StringIO(piped.stdout.removeprefix(BOM)))] == [
        "pat@prospect.test"
    ]


def test_report_refuses_a_bad_date_and_an_unknown_item_in_one_line(tmp_path, db_url):
    SyncDB(db_url).run(seed.organisation())
    bad = enrolbot("report", "safety-101", "--since", "1/9/26", cwd=tmp_path, DATABASE_URL=db_url)
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        "Error: --since takes a date written YYYY-MM-DD, such as 2026-09-01; “1/9/26” isn't one."
    )
    unknown = enrolbot("report", "safety", cwd=tmp_path, DATABASE_URL=db_url)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "Error: There is no item safety. Did you mean safety-101?"
