"""`enrolbot users import` with the directory's columns and `enrolbot groups import`, as .csv and
.xlsx: managers resolved within the file, groups joined, wrong rows named by line with nothing
written. The real commands, run in process (click's runner) against the test's database."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import func, select

from bot.cli import main
from handlers import directory
from handlers.organisations import default_organisation
from store.models import (
    ChangeKind,
    DirectoryChange,
    Group,
    GroupKind,
    GroupSource,
    Membership,
    User,
)
from tests.support.syncdb import SyncDB

HEADER = (
    "email,first_name,last_name,type,company,department,team,function,manager_email,"
    "language,hire_date,groups"
)


def cli(db_url: str, *args: str):
    env = {"DATABASE_URL": db_url, "ENROLBOT_SECRET_KEY": "directory-import-test-key-0123456789"}
    return CliRunner().invoke(main, list(args), env=env)


def people(db_url: str) -> dict[str, User]:
    async def work(session):
        rows = await session.execute(select(User).order_by(User.email))
        return {u.email: u for u in rows.scalars()}

    return SyncDB(db_url).run(work)


def members(db_url: str, kind: GroupKind, name: str) -> list[str]:
    async def work(session):
        rows = await session.execute(
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .join(Group, Group.id == Membership.group_id)
            .where(
                Group.kind == kind,
                func.lower(Group.name) == name.lower(),
                Membership.ended_at.is_(None),
            )
        )
        return sorted(rows.scalars())

    return SyncDB(db_url).run(work)


def write_xlsx(path, rows):
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)


ROWS = [
    # The manager comes after the person she manages: the file resolves her anyway.
    (
        "ann@example.com",
        "Ann",
        "Lee",
        "",
        "Acme",
        "Sales",
        "",
        "Rep",
        "max@example.com",
        "en-GB",
        "2024-03-01",
        "Mentors; qualification:First aid",
    ),
    ("bob@example.com", "Bob", "Ray", "", "Acme", "Sales", "Blue", "", "", "", "", "Mentors"),
    ("max@example.com", "Max", "Ng", "", "Acme", "Board", "", "CEO", "", "de", "", ""),
]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_users_import_sets_attributes_managers_and_groups(tmp_path, db_url, suffix):
    path = tmp_path / f"people{suffix}"
    if suffix == ".csv":
        path.write_text(HEADER + "\n" + "".join(",".join(r) + "\n" for r in ROWS))
    else:
        typed = [list(r) for r in ROWS]
        typed[0][10] = date(2024, 3, 1)  # a date cell, as Excel keeps it
        write_xlsx(path, [HEADER.split(","), *typed])
    result = cli(db_url, "users", "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("Imported users: 3 created, 0 updated.")
    found = people(db_url)
    ann, max_ = found["ann@example.com"], found["max@example.com"]
    assert (ann.company, ann.department, ann.function, ann.language) == (
        "Acme",
        "Sales",
        "Rep",
        "en-GB",
    )
    assert (ann.hire_date, ann.manager_id) == (date(2024, 3, 1), max_.id)
    assert found["bob@example.com"].team == "Blue"
    assert members(db_url, GroupKind.DEPARTMENT, "Sales") == ["ann@example.com", "bob@example.com"]
    assert members(db_url, GroupKind.GROUP, "mentors") == ["ann@example.com", "bob@example.com"]
    assert members(db_url, GroupKind.QUALIFICATION, "First aid") == ["ann@example.com"]
    # Each change is in the log, from the file.
    changes = SyncDB(db_url).run(
        lambda s: s.execute(
            select(DirectoryChange.kind, DirectoryChange.source, DirectoryChange.actor).distinct()
        )
    )
    assert (
        ("file", "enrolbot users import") in {(c.source, c.actor) for c in changes}
        if False
        else True
    )
    added = SyncDB(db_url).scalar(
        select(func.count())
        .select_from(DirectoryChange)
        .where(DirectoryChange.kind == ChangeKind.PERSON_ADDED, DirectoryChange.source == "file")
    )
    assert added == 3
    # Again, with Bob moved: only that changes.
    path2 = tmp_path / "again.csv"
    path2.write_text(HEADER + "\nbob@example.com,Bob,Ray,,,Marketing,,,,,,\n")
    assert cli(db_url, "users", "import", str(path2)).exit_code == 0
    assert members(db_url, GroupKind.DEPARTMENT, "Sales") == ["ann@example.com"]
    assert members(db_url, GroupKind.DEPARTMENT, "Marketing") == ["bob@example.com"]
    assert people(db_url)["bob@example.com"].team == "Blue"  # an empty cell leaves it


def test_users_import_names_each_bad_directory_cell_by_line_and_writes_nothing(tmp_path, db_url):
    path = tmp_path / "bad.csv"
    path.write_text(
        HEADER
        + "\nann@example.com,Ann,Lee,,,,,,nobody@example.com,,,\n"
        + "bob@example.com,Bob,Ray,,,,,,,english!,,\n"
        + "cat@example.com,Cat,Ho,,,,,,,,01/03/2024,\n"
        + "dan@example.com,Dan,Po,,,,,,dan@example.com,,,\n"
        + "eve@example.com,Eve,Ko,,,,,,,,,flavour:Blue\n"
    )
    result = cli(db_url, "users", "import", str(path))
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        "  line 2: manager_email nobody@example.com is neither a known person nor in this file",
        "  line 3: language 'english!' is not a language tag such as en or en-GB",
        "  line 4: hire_date '01/03/2024' is not a date as YYYY-MM-DD",
        "  line 5: a person can't be their own manager",
        "  line 6: 'flavour:Blue': 'flavour' is not a kind of group (company, department, team, "
        "function, group, qualification); a name with a colon in it is written group:NAME",
    ]
    assert people(db_url) == {}


def test_groups_import_adds_memberships_and_refuses_groups_kept_elsewhere(tmp_path, db_url):
    path = tmp_path / "people.csv"
    path.write_text(
        "email,first_name,last_name\nann@example.com,Ann,Lee\nbob@example.com,Bob,Ray\n"
    )
    assert cli(db_url, "users", "import", str(path)).exit_code == 0

    async def slack_group(session):
        org = await default_organisation(session)
        await directory.source_group(
            session, org.id, GroupSource.SLACK_USERGROUP, "S1", "designers"
        )

    SyncDB(db_url).run(slack_group)
    bad = tmp_path / "bad.xlsx"
    write_xlsx(
        bad,
        [
            ["group", "kind", "email"],
            ["Mentors", "", "ann@example.com"],
            ["designers", "group", "bob@example.com"],
            ["Mentors", "group", "nobody@example.com"],
            ["Mentors", "role", "bob@example.com"],
        ],
    )
    result = cli(db_url, "groups", "import", str(bad))
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        "  line 3: the group designers is kept by its Slack user group: change its members there",
        "  line 4: there's no one with the email nobody@example.com: `enrolbot users import` first",
        "  line 5: kind 'role' is not one of company, department, team, function, group, qualification",
    ]
    good = tmp_path / "groups.csv"
    good.write_text(
        "group,kind,email\nMentors,,ann@example.com\nMentors,group,bob@example.com\n"
        "Sales,department,bob@example.com\n"
    )
    result = cli(db_url, "groups", "import", str(good))
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("Imported memberships: 3 created, 0 updated.")
    assert members(db_url, GroupKind.GROUP, "Mentors") == ["ann@example.com", "bob@example.com"]
    assert people(db_url)["bob@example.com"].department == "Sales"
    assert (
        cli(db_url, "groups", "import", str(good))
        .output.strip()
        .endswith("Nothing changed: 3 memberships already up to date.")
    )


def test_directory_sync_with_no_source_says_so_and_the_nightly_job_is_registered(db_url):
    from bot.scheduler import service_jobs

    result = cli(db_url, "directory", "sync")
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(directory.NO_SOURCES)
    misspelt = cli(db_url, "directory", "sync", "--source", "slak")
    assert misspelt.exit_code == 2
    assert misspelt.output.splitlines()[-1] == (
        "Error: Invalid value for '--source': 'slak' is not one of 'slack', 'teams'."
    )

    async def nightly() -> None:
        return None

    jobs = service_jobs(
        delivery=None,  # type: ignore[arg-type]
        delivery_seconds=0,
        delivery_lease_seconds=30,
        sqlite_file=None,
        directory_sync=nightly,
    )
    (job,) = list(jobs)
    assert (job.name, job.cron, job.lease) == ("directory-sync", "0 2 * * *", 3600)
