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
        "By source: by hand: 1, import (spreadsheet or completions file): 1, link: 1.",
        f"Wrote 3 enrolments to {out}.",
    ]
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode().removeprefix(BOM))))
    assert sorted(r["email"] for r in rows) == [
        "done@acme.test",
        "formula@client.test",
        "pat@prospect.test",
    ]
    assert sorted(r["source"] for r in rows) == [
        "by hand",
        "import (spreadsheet or completions file)",
        "link",
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
    far = enrolbot("report", "zzz-000", cwd=tmp_path, DATABASE_URL=db_url)
    assert far.returncode == 1
    assert far.stderr == (
        "Error: There is no item zzz-000. In Slack or Teams, /enrol items lists them.\n"
    )


def test_report_never_overwrites_a_file_and_writes_csv_only_to_a_csv_name(tmp_path, db_url):
    db = SyncDB(db_url)
    db.run(seed.organisation())
    users = tmp_path / "clob.csv"
    users.write_text("email,first_name,last_name\nann@acme.test,Ann,Lee\n")
    kept = users.read_bytes()
    refused = enrolbot(
        "report", "safety-101", "--csv", str(users), cwd=tmp_path, DATABASE_URL=db_url
    )
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr == (
        f"Error: Cannot write {users}: it already exists; choose another name, or delete it "
        "first.\n"
    )
    assert users.read_bytes() == kept
    sheet = tmp_path / "report.xlsx"
    wrong = enrolbot("report", "safety-101", "--csv", str(sheet), cwd=tmp_path, DATABASE_URL=db_url)
    assert wrong.returncode == 1 and not sheet.exists()
    assert wrong.stderr == (
        f"Error: {sheet} would hold CSV, so its name must end in .csv: choose a name such as "
        "report.csv.\n"
    )
    gone = enrolbot(
        "report", "safety-101", "--csv", "/nonexistent/r.csv", cwd=tmp_path, DATABASE_URL=db_url
    )
    assert gone.returncode == 1
    assert gone.stderr == "Error: Cannot write /nonexistent/r.csv: no such directory.\n"
