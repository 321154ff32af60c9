"""`report ITEM [--type T] [--since DATE]`: counts by user type and by source, and the CSV, on
both databases; and the CSV writer every export uses."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging

import pytest
from sqlalchemy import update

from bot.app import RedactLinkTokens
from handlers import admins, csvwrite, reports, tokens
from handlers.commands import run
from handlers.enrol import Outcome, enrol
from handlers.replies import ReportReady
from handlers.signing import LinkSigner, ReportClaims, ReportLinkSigner, TokenProblem
from store.models import Enrolment, EnrolmentSource, EnrolmentStatus, UserType
from tests.support import factories
from tests.support.command_world import ADMINS, BOSS, SIGNER, error

OLD = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)
DONE = dt.datetime(2026, 2, 1, 17, 0, tzinfo=dt.UTC)


def csv_rows(ready: ReportReady) -> list[dict[str, str]]:
    text = ready.report.csv.decode("utf-8")
    assert text.startswith(csvwrite.BOM)  # Excel reads it as UTF-8
    return list(csv.DictReader(io.StringIO(text.removeprefix(csvwrite.BOM))))


@pytest.fixture
async def enrolled(acme):
    """Safety 101's enrolments, one from each way in, people of each type:
    ann (staff) by the default link, enrolled long ago and completed; cat (staff) by the
    "Intranet" link; sue (staff) by an unlabelled link; a client by hand whose name is a
    formula; prospects from a spreadsheet and a rule, with names starting with a tab and a
    carriage return; prospects through a nicknamed and an unnamed self-registration token; a
    client by invitation. Returns the ids of the unlabelled link and the unnamed token."""
    s, org, item = acme.session, acme.org, acme.safety
    await acme.enrol_through(await acme.default_link(item), "ann@example.com")
    await acme.enrol_through(await acme.extra_link(item, "Intranet"), "cat@example.com")
    unlabelled = await acme.extra_link(item, "")
    await acme.enrol_through(unlabelled, "sue@example.com")
    people = {
        "formula@client.test": (UserType.CLIENT, '=HYPERLINK("http://x")', "+Plus", "manual"),
        "tab@prospect.test": (UserType.PROSPECT, "\tTab", "@At", "import"),
        "cr@prospect.test": (UserType.PROSPECT, "\rCr", "-Minus", "rule"),
        "inv@client.test": (UserType.CLIENT, "Ivy", "Vite", "invitation"),
    }
    token, _code = await tokens.create_token(
        s, SIGNER, item, nickname="Spring campaign", created_by_user_id=None
    )
    unnamed, _code = await tokens.create_token(
        s, SIGNER, item, nickname=None, created_by_user_id=None
    )
    for email, nickname_of in (("reg@prospect.test", token), ("anon@prospect.test", unnamed)):
        user = await factories.user(s, org, email=email, type=UserType.PROSPECT)
        await enrol(
            s,
            organisation=org,
            user=user,
            item=item,
            source=EnrolmentSource.REGISTRATION,
            by="test",
            registration_token_id=nickname_of.id,
        )
    for email, (kind, first, last, source) in people.items():
        user = await factories.user(
            s, org, email=email, first_name=first, last_name=last, type=kind
        )
        outcome = await enrol(
            s, organisation=org, user=user, item=item, source=EnrolmentSource(source), by="test"
        )
        assert outcome is Outcome.ENROLLED
    ann = acme.users["ann@example.com"]
    await s.execute(
        update(Enrolment)
        .where(Enrolment.user_id == ann.id)
        .values(enrolled_at=OLD, status=EnrolmentStatus.COMPLETED, completed_at=DONE)
    )
    # Someone enrolled in another item is not in Safety 101's report.
    await acme.enrol_through(await acme.default_link(acme.gdpr), "sam@example.com")
    await s.commit()
    return unlabelled.id, unnamed.id


async def report(acme, text: str, who: str = BOSS) -> ReportReady:
    reply = await run(await acme.ctx(who), text)
    assert isinstance(reply, ReportReady), reply
    return reply


async def test_report_counts_by_user_type_and_by_source(acme, enrolled):
    ready = await report(acme, "report safety-101")
    r = ready.report
    unlabelled, unnamed = enrolled
    assert (r.total, r.completed) == (9, 1)
    assert r.by_type == {UserType.STAFF: 3, UserType.CLIENT: 2, UserType.PROSPECT: 4}
    assert dict(r.by_source) == {
        "default link": 1,
        "link “Intranet”": 1,
        f"link {unlabelled}": 1,
        "token “Spring campaign”": 1,
        f"token {unnamed}": 1,
        "by hand": 1,
        "import (spreadsheet or completions file)": 1,
        "rule": 1,
        "invitation": 1,
    }
    notice = ready.summary
    assert notice.text == "9 enrolments in Safety 101, 1 completed."
    assert notice.lines[0] == "By user type: 3 staff, 2 client, 4 prospect."
    assert notice.lines[1].startswith("By source: ")
    for part in ("link “Intranet”: 1", "token “Spring campaign”: 1", "by hand: 1"):
        assert part in notice.lines[1]


async def test_the_csv_has_a_row_per_enrolment_with_its_source(acme, enrolled):
    ready = await report(acme, "report safety-101")
    rows = csv_rows(ready)
    assert list(rows[0]) == list(
        (
            "email",
            "first name",
            "last name",
            "user type",
            "status",
            "source",
            "source detail",
            "enrolled at (UTC)",
            "completed at (UTC)",
        )
    )
    by_email = {row["email"]: row for row in rows}
    assert len(rows) == len(by_email) == ready.report.total == 9
    assert rows[0]["email"] == "ann@example.com"  # the oldest first
    ann = by_email["ann@example.com"]
    assert (ann["user type"], ann["status"], ann["source"], ann["source detail"]) == (
        "staff",
        "completed",
        "link",
        "default link",
    )
    assert (ann["enrolled at (UTC)"], ann["completed at (UTC)"]) == (
        "2026-01-15 09:30:00",
        "2026-02-01 17:00:00",
    )
    assert by_email["cat@example.com"]["source detail"] == "Intranet"
    assert by_email["sue@example.com"]["source detail"] == f"link {enrolled[0]}"
    reg, anon = by_email["reg@prospect.test"], by_email["anon@prospect.test"]
    assert (reg["source"], reg["source detail"]) == ("self-registration", "Spring campaign")
    assert anon["source detail"] == f"token {enrolled[1]}"
    assert [by_email[e]["source"] for e in ("formula@client.test", "tab@prospect.test")] == [
        "by hand",
        "import (spreadsheet or completions file)",
    ]
    assert by_email["inv@client.test"]["completed at (UTC)"] == ""
    assert ready.report.filename.startswith("safety-101-enrolments-")


async def test_csv_cells_a_spreadsheet_would_run_are_quoted(acme, enrolled):
    by_email = {row["email"]: row for row in csv_rows(await report(acme, "report safety-101"))}
    formula = by_email["formula@client.test"]
    assert formula["first name"] == '\'=HYPERLINK("http://x")'
    assert formula["last name"] == "'+Plus"
    assert (
        by_email["tab@prospect.test"]["first name"],
        by_email["tab@prospect.test"]["last name"],
    ) == (
        "'\tTab",
        "'@At",
    )
    assert by_email["cr@prospect.test"]["first name"] == "'\rCr"
    assert by_email["cr@prospect.test"]["last name"] == "'-Minus"
    assert by_email["ann@example.com"]["first name"] == "Ann"  # ordinary text as it was


async def test_type_filter(acme, enrolled):
    ready = await report(acme, "report safety-101 --type prospect")
    assert ready.report.by_type == {UserType.PROSPECT: 4}
    assert dict(ready.report.by_source) == {
        "import (spreadsheet or completions file)": 1,
        "rule": 1,
        "token “Spring campaign”": 1,
        f"token {enrolled[1]}": 1,
    }
    assert {row["email"] for row in csv_rows(ready)} == {
        "tab@prospect.test",
        "cr@prospect.test",
        "reg@prospect.test",
        "anon@prospect.test",
    }
    assert ready.summary.text == "4 enrolments in Safety 101 (prospect only), 0 completed."
    assert ready.report.filename.startswith("safety-101-enrolments-prospect-")


async def test_since_filter_and_both_together(acme, enrolled):
    ready = await report(acme, "report safety-101 --since 2026-06-01")
    assert ready.report.total == 8
    assert "ann@example.com" not in {row["email"] for row in csv_rows(ready)}
    both = await report(acme, "report safety-101 --type STAFF --since=2026-06-01")
    assert both.report.by_type == {UserType.STAFF: 2}
    assert {row["email"] for row in csv_rows(both)} == {"cat@example.com", "sue@example.com"}
    assert "(staff only, enrolled since 2026-06-01)" in both.summary.text
    assert "staff-since-2026-06-01" in both.report.filename


async def test_an_item_without_enrolments_says_so(acme, enrolled):
    ready = await report(acme, "report onboarding")
    assert ready.summary.text == "No enrolments in Onboarding yet."
    assert csv_rows(ready) == []


async def test_an_unknown_item_is_named(acme):
    reply = await run(await acme.ctx(BOSS), "report safety-10")
    assert error(reply) == "There is no item `safety-10`. Did you mean `safety-101`?"


async def test_a_learner_is_refused(acme, enrolled):
    reply = await run(await acme.ctx("ann@example.com"), "report safety-101")
    assert error(reply) == "Only enrolment admins can see reports; nothing was changed."


@pytest.mark.parametrize("typed", ["2026-13-01", "01/09/2026", "yesterday"])
async def test_a_bad_date_says_the_format(acme, typed):
    reply = await run(await acme.ctx(BOSS), f"report safety-101 --since {typed}")
    text = error(reply)
    assert "YYYY-MM-DD" in text and typed in text


async def test_a_bad_type_names_the_types(acme):
    text = error(await run(await acme.ctx(BOSS), "report safety-101 --type guest"))
    assert text == "`--type` is one of staff, client, prospect; “guest” isn't."


async def test_help_lists_report_for_admins(acme):
    reply = await run(await acme.ctx(BOSS), "help report")
    assert "report ITEM [--type T] [--since DATE]" in reply.text + "".join(reply.lines)


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (3, "3"),
    ],
)
def test_neutralise(cell, written):
    assert csvwrite.neutralise(cell) == written


def test_write_quotes_commas_and_line_breaks():
    data = csvwrite.write(("a", "b"), [("x,y", 'say "hi"\nthen')])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8").removeprefix(csvwrite.BOM))))
    assert rows == [["a", "b"], ["x,y", 'say "hi"\nthen']]


def test_report_links_expire_and_are_never_enrolment_links():
    keys = ["k" * 32]
    signer = ReportLinkSigner(keys)
    claims = ReportClaims(1, 2, "staff", "2026-09-01", 3)
    token = signer.sign(claims)
    assert signer.read(token) == claims
    assert ReportLinkSigner(keys, max_age=-1).read(token) is TokenProblem.EXPIRED
    assert ReportLinkSigner(["o" * 32]).read(token) is TokenProblem.TAMPERED
    assert signer.read(token[:-2]) is TokenProblem.TAMPERED
    assert signer.read(LinkSigner(keys).sign(1, 2, "secret")) is TokenProblem.TAMPERED
    assert LinkSigner(keys).read(token) is TokenProblem.TAMPERED


async def test_a_download_link_works_only_while_its_admin_is_one(acme, enrolled):
    ready = await report(acme, "report safety-101 --type prospect", who="sam@example.com")
    claims = reports.download_claims(ready)
    again = await reports.report_for_link(acme.session, acme.org.id, claims, ADMINS)
    assert again is not None and again.csv == ready.report.csv
    assert await reports.report_for_link(acme.session, acme.org.id + 1, claims, ADMINS) is None
    await admins.revoke(acme.session, acme.users["sam@example.com"])
    assert await reports.report_for_link(acme.session, acme.org.id, claims, ADMINS) is None


def test_a_report_download_path_is_cut_from_access_logs():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s"',
        ("1.2.3.4", "GET", "/reports/W1.x.y"),
        None,
    )
    RedactLinkTokens().filter(record)
    assert record.getMessage() == '1.2.3.4 - "GET /reports/…"'
