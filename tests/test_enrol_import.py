"""Spreadsheet enrolment (seed 002) in process on both databases: the template read back by
openpyxl, the final check's categories with row numbers, nothing written before Start, Start
enrolling and queueing one learner message per person, CSV as well as .xlsx, and the command
line (`enrolbot enrol template|import [--yes]|imports`)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from bot.cli import main
from handlers import enrol_import as sheet
from handlers import enrol_import_start as running
from handlers.enrol_import_text import preview_lines
from handlers.enrol_sheet import template
from handlers.organisations import default_organisation
from store.batches import Pace
from store.models import (
    EnrolImportRow,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    Identity,
    OutboxMessage,
    Standing,
    User,
    UserStatus,
    UserType,
)
from tests.support import factories

HEADER = ["email", "Fire safety (fire-safety)", "GDPR (gdpr)"]
ROWS = [
    ["ann@example.com", "x", "x"],  # 2: both
    ["bob@example.com", "", "X"],  # 3: gdpr
    ["nobody@example.com", "x", ""],  # 4: unknown
    ["dee@example.com", "x", ""],  # 5: deactivated
    ["gus@example.com", "x", ""],  # 6: a guest
    ["cat@example.com", "x", ""],  # 7: already enrolled
    ["not-an-email", "x", ""],  # 8: error
    ["ann@example.com", "x", ""],  # 9: duplicate
    ["eve@example.com", "yes", ""],  # 10: not a mark
    ["pat@example.com", "", "x"],  # 11: a prospect
]


async def seed(session) -> int:
    org = await default_organisation(session)
    fire = await factories.item(session, org, "fire-safety")
    await factories.item(session, org, "gdpr")
    for email in ("ann@example.com", "bob@example.com", "eve@example.com"):
        await factories.user(session, org, email)
    await factories.user(session, org, "dee@example.com", status=UserStatus.DEACTIVATED)
    await factories.user(session, org, "pat@example.com", type=UserType.PROSPECT)
    gus = await factories.user(session, org, "gus@example.com")
    session.add(
        Identity(
            provider="slack",
            tenant_key="T1",
            subject="UGUS",
            user_id=gus.id,
            email=gus.email,
            standing=Standing.GUEST,
        )
    )
    cat = await factories.user(session, org, "cat@example.com")
    session.add(Enrolment(user_id=cat.id, item_id=fire.id, source=EnrolmentSource.LINK))
    await session.commit()
    return org.id


def write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    book = Workbook()
    for row in [HEADER, *rows]:
        book.active.append(row)
    book.save(path)
    return path


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("\n".join(",".join(r) for r in [HEADER, *rows]) + "\n")
    return path


async def counts(session) -> tuple[int, int]:
    enrolments = await session.scalar(select(func.count()).select_from(Enrolment))
    messages = await session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "learner")
    )
    return enrolments, messages


async def test_template_has_emails_items_and_instructions(session):
    org = await default_organisation(session)
    items = [
        await factories.item(session, org, "fire-safety"),
        await factories.item(session, org, "gdpr"),
    ]
    items[1].title = "=HYPERLINK(1)"
    book = load_workbook(io.BytesIO(template(items)))
    assert book.sheetnames == ["Enrolments", "Instructions"]
    header = [c.value for c in book["Enrolments"][1]]
    assert header == ["email", f"{items[0].title} (fire-safety)", "=HYPERLINK(1) (gdpr)"]
    assert book["Enrolments"]["C1"].data_type == "s"  # a title is never a formula
    guide = " ".join(str(c.value) for c in book["Instructions"]["A"] if c.value)
    assert "x under each item" in guide and "Start import" in guide


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
async def test_preview_then_start(sessions, tmp_path, kind):
    async with sessions() as session:
        org_id = await seed(session)
    writer = write_xlsx if kind == "xlsx" else write_csv
    path = writer(tmp_path / f"filled.{kind}", ROWS)
    import_id = await sheet.stage(sessions, org_id, path, by="ann@example.com", by_user_id=None)
    async with sessions() as session, session.begin():
        shown = await sheet.preview(session, org_id, import_id)
    assert [(i.slug, i.count) for i in shown.items] == [("fire-safety", 1), ("gdpr", 2)]
    assert shown.people == 2 and shown.already == 1 and shown.rows == 10
    assert shown.refused == [
        (4, "nobody@example.com", sheet.UNKNOWN),
        (5, "dee@example.com", sheet.DEACTIVATED),
        (6, "gus@example.com", sheet.GUEST),
        (11, "pat@example.com", sheet.PROSPECT),
    ]
    assert [line for line, _ in shown.problems] == [8, 9, 10]
    assert "already on row 2" in shown.problems[1][1]
    text = "\n".join(preview_lines(shown))
    assert "row 5: dee@example.com: deactivated" in text
    async with sessions() as session:
        assert await counts(session) == (1, 0)  # nothing written before Start

    done = await running.start(sessions, org_id, import_id, by_name="Ann Lee")
    assert (done.enrolled, done.people, done.already, done.refused) == (3, 2, 1, 4)
    async with sessions() as session:
        assert await counts(session) == (4, 3)  # one row per enrolment; one message per person
        destinations = (await session.scalars(select(OutboxMessage.destination).distinct())).all()
        assert sorted(destinations) == ["email:ann@example.com", "email:bob@example.com"]
        sources = (
            await session.scalars(
                select(Enrolment.source).where(Enrolment.status == EnrolmentStatus.ENROLLED)
            )
        ).all()
        assert sources.count(EnrolmentSource.IMPORT) == 3
        assert await session.scalar(select(func.count()).select_from(EnrolImportRow)) == 0
        listed = await running.past(session, org_id)
        assert [(r.id, r.enrolled, r.refused, r.problems) for r in listed] == [(import_id, 3, 4, 3)]
    with pytest.raises(sheet.ImportGone):  # a second Start changes nothing
        await running.start(sessions, org_id, import_id, by_name="Ann Lee")


async def test_manager_may_enrol_only_reports(sessions, tmp_path):
    async with sessions() as session:
        org_id = await seed(session)
        ann = await session.scalar(select(User).where(User.email == "ann@example.com"))
        bob = await session.scalar(select(User).where(User.email == "bob@example.com"))
        bob.manager_id = ann.id
        await session.commit()
    path = write_csv(
        tmp_path / "team.csv", [["bob@example.com", "x", ""], ["eve@example.com", "x"]]
    )
    import_id = await sheet.stage(sessions, org_id, path, by="ann", by_user_id=ann.id)
    async with sessions() as session, session.begin():
        shown = await sheet.preview(session, org_id, import_id, manager_id=ann.id)
    assert shown.people == 1
    assert shown.refused == [(3, "eve@example.com", sheet.NOT_ALLOWED)]


async def test_a_file_naming_an_unknown_item_is_refused(sessions, tmp_path):
    async with sessions() as session:
        org_id = await seed(session)
    path = tmp_path / "wrong.csv"
    path.write_text("email,Nope (no-such-item)\nann@example.com,x\n")
    with pytest.raises(sheet.FileProblem, match="no-such-item"):
        await sheet.stage(sessions, org_id, path, by="t", by_user_id=None)
    path.write_text("name,gdpr\nann@example.com,x\n")
    with pytest.raises(sheet.FileProblem, match="header"):
        await sheet.stage(sessions, org_id, path, by="t", by_user_id=None)


def test_cli_template_import_yes_and_imports(db_url, tmp_path):
    from tests.support.syncdb import SyncDB

    SyncDB(db_url).run(seed)
    env = {"DATABASE_URL": db_url, "ENROLBOT_SECRET_KEY": "enrol-import-cli-test-key-0123456789"}
    nowhere = {"SLACK_BOT_TOKEN": None, "MICROSOFT_APP_ID": None, "SMTP_URL": None}
    runner = CliRunner()
    out = tmp_path / "t.xlsx"
    made = runner.invoke(
        main, ["enrol", "template", "fire-safety", "gdpr", "--out", str(out)], env=env
    )
    assert made.exit_code == 0, made.output
    book = load_workbook(out)
    book["Enrolments"].append(["ann@example.com", "x", ""])
    book["Enrolments"].append(["nobody@example.com", "x", ""])
    book.save(out)
    previewed = runner.invoke(main, ["enrol", "import", str(out)], env=env)
    assert previewed.exit_code == 0, previewed.output
    assert "Will be enrolled: 1 person, 1 enrolment:" in previewed.output
    assert "row 3: nobody@example.com" in previewed.output
    assert "Nothing was changed" in previewed.output
    assert SyncDB(db_url).run(counts) == (1, 0)
    ran = runner.invoke(main, ["enrol", "import", str(out), "--yes"], env=env | nowhere)
    assert ran.exit_code == 0, ran.output
    # Nothing can tell anyone here: the sentence says so, and how to change it.
    assert (
        "1 enrolment made for 1 person, but nobody can be told: no Slack, Teams or email is set "
        "up here (set SLACK_*, MICROSOFT_* or SMTP_URL as the README says);"
    ) in ran.output
    assert SyncDB(db_url).run(counts) == (2, 1)
    listed = runner.invoke(main, ["enrol", "imports"], env=env)
    assert "1 enrolled" in listed.output and "enrolbot enrol import" in listed.output
    wrong = runner.invoke(
        main, ["enrol", "template", "nope", "--out", str(tmp_path / "n.xlsx")], env=env
    )
    assert wrong.exit_code == 1
    assert wrong.output == (
        "Error: There is no item `nope`. In Slack or Teams, `/enrol items` lists them.\n"
    )


def test_cli_import_says_through_what_people_are_told(db_url, tmp_path):
    from tests.support.syncdb import SyncDB

    SyncDB(db_url).run(seed)
    path = tmp_path / "marks.csv"
    path.write_text("email,fire-safety\nann@example.com,x\n")
    env = {
        "DATABASE_URL": db_url,
        "SMTP_URL": "smtp://127.0.0.1:2525",
        "SLACK_BOT_TOKEN": None,
        "MICROSOFT_APP_ID": None,
    }
    ran = CliRunner().invoke(main, ["enrol", "import", str(path), "--yes"], env=env)
    assert ran.exit_code == 0, ran.output
    assert (
        "1 enrolment made for 1 person, each to be told once by the running service through email;"
    ) in ran.output


def test_cli_template_names_each_item_once_and_never_overwrites(db_url, tmp_path):
    from tests.support.syncdb import SyncDB

    SyncDB(db_url).run(seed)
    env = {"DATABASE_URL": db_url}
    runner = CliRunner()
    out = tmp_path / "keep.xlsx"
    made = runner.invoke(
        main, ["enrol", "template", "gdpr", "GDPR", "gdpr", "--out", str(out)], env=env
    )
    assert made.exit_code == 0, made.output
    assert made.output.splitlines()[-1] == "gdpr: named more than once, given one column."
    assert [c.value for c in load_workbook(out)["Enrolments"][1]] == ["email", "Gdpr (gdpr)"]

    filled = out.read_bytes()
    again = runner.invoke(main, ["enrol", "template", "gdpr", "--out", str(out)], env=env)
    assert again.exit_code == 1
    assert again.output == (
        f"Error: Cannot write {out}: it already exists; choose another name, or delete it first.\n"
    )
    assert out.read_bytes() == filled
    csv_name = tmp_path / "keep2.csv"
    wrong = runner.invoke(main, ["enrol", "template", "gdpr", "--out", str(csv_name)], env=env)
    assert wrong.exit_code == 1 and not csv_name.exists()
    assert wrong.output == (
        f"Error: {csv_name} would hold an .xlsx workbook, so its name must end in .xlsx: "
        "choose a name such as keep2.xlsx.\n"
    )
    for bad, why in (("/nonexistent/x.xlsx", "no such directory"), (tmp_path, "it is a dir")):
        refused = runner.invoke(main, ["enrol", "template", "gdpr", "--out", str(bad)], env=env)
        assert refused.exit_code == 1
        assert refused.output.startswith(f"Error: Cannot write {bad}: {why}")
        assert "database" not in refused.output


async def test_paced_batches_enrol_everyone_once(sessions, tmp_path):
    # Resting between batches (SQLite beside a running service) sizes each batch by how long
    # the last one held the database: however the lines are cut, each person is enrolled and
    # told once, and the record counts them all.
    async with sessions() as session:
        org_id = await seed(session)
        org = await default_organisation(session)
        emails = [f"p{n}@example.com" for n in range(600)]
        for email in emails:
            await factories.user(session, org, email)
        await session.commit()
    path = write_csv(tmp_path / "many.csv", [[e, "x", "x"] for e in emails])
    import_id = await sheet.stage(
        sessions, org_id, path, by="ann@example.com", by_user_id=None, rest=0.01
    )
    done = await running.start(sessions, org_id, import_id, by_name="Ann Lee", rest=0.01)
    assert (done.enrolled, done.people) == (1200, 600)
    async with sessions() as session:
        assert await counts(session) == (1 + 1200, 1200)  # a row per enrolment
        told = select(func.count(func.distinct(OutboxMessage.destination)))
        assert await session.scalar(told) == 600  # sent as one message per person
        listed = await running.past(session, org_id)
        assert [(r.rows, r.enrolled) for r in listed] == [(600, 1200)]


async def test_pace_sizes_batches_by_time_held():
    pace = Pace(250, rest=0.001)
    await pace.held(2 * Pace.HOLD)  # held twice as long as it should: half the rows
    assert pace.rows == 125
    await pace.held(Pace.HOLD / 10)  # far shorter: grows, at most doubling
    assert pace.rows == 250
    await pace.held(1.0)  # however long, never under `least`
    assert pace.rows == pace.least
    unpaced = Pace(250)  # no rest (PostgreSQL): the rows stay as they are
    await unpaced.held(1.0)
    assert unpaced.rows == 250
