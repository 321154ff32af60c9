"""What a first-time admin meets when importing again or getting a file slightly wrong: a column
left out or a cell left empty keeps what the database holds and counts as unchanged; a mistyped
group kind, a CSV named .xlsx, a short row, an empty slug and a mistyped item slug each get one
sentence that says how to fix it; `invite import` reads its header as the other imports do.
The real commands, run in process (click's runner) against the test's database."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from handlers import directory
from handlers.organisations import default_organisation
from store.models import (
    CatalogItem,
    Group,
    GroupKind,
    GroupSource,
    ItemSource,
    Membership,
    User,
    UserType,
)
from tests.support.syncdb import SyncDB

KEY = "import-truths-test-key-0123456789abcdef"


def cli(db_url: str, *args: str):
    env = {"DATABASE_URL": db_url, "ENROLBOT_SECRET_KEY": KEY, "SMTP_URL": "smtp://127.0.0.1:2525"}
    return CliRunner().invoke(main, list(args), env=env)


def people(db_url: str) -> dict[str, User]:
    async def work(session):
        return {u.email: u for u in (await session.execute(select(User))).scalars()}

    return SyncDB(db_url).run(work)


def items(db_url: str) -> dict[str, CatalogItem]:
    async def work(session):
        return {i.slug: i for i in (await session.execute(select(CatalogItem))).scalars()}

    return SyncDB(db_url).run(work)


def test_a_users_file_without_type_or_names_keeps_them_and_counts_true(tmp_path, db_url):
    path = tmp_path / "users.csv"
    path.write_text(
        "email,first_name,last_name,type,department\n"
        "cli@example.com,Cli,Ent,client,Sales\n"
        "pro@example.com,Pro,Spect,prospect,\n"
        "sam@example.com,Sam,Taff,,\n"
    )
    assert cli(db_url, "users", "import", str(path)).output.strip() == (
        "Imported users: 3 created, 0 updated."
    )
    # No type column, an empty last name: nothing changes, and it says so.
    path.write_text("email,first_name,last_name\ncli@example.com,Cli,\npro@example.com,Pro,Spect\n")
    result = cli(db_url, "users", "import", str(path))
    assert result.output.strip() == "Nothing changed: 2 users already up to date."
    held = people(db_url)
    assert held["cli@example.com"].type == UserType.CLIENT
    assert (held["cli@example.com"].last_name, held["cli@example.com"].department) == (
        "Ent",
        "Sales",
    )
    assert held["pro@example.com"].type == UserType.PROSPECT
    assert held["sam@example.com"].type == UserType.STAFF  # the default, for a new person
    # Only a directory column changes: that person is updated, the other unchanged.
    path.write_text(
        "email,first_name,last_name,department\n"
        "cli@example.com,Cli,Ent,Support\n"
        "pro@example.com,Pro,Spect,\n"
    )
    result = cli(db_url, "users", "import", str(path))
    assert result.output.strip() == "Imported users: 0 created, 1 updated, 1 unchanged."
    assert people(db_url)["cli@example.com"].department == "Support"
    # A given type still changes it.
    path.write_text("email,first_name,last_name,type\npro@example.com,Pro,Spect,client\n")
    assert cli(db_url, "users", "import", str(path)).output.strip() == (
        "Imported users: 0 created, 1 updated."
    )
    assert people(db_url)["pro@example.com"].type == UserType.CLIENT


def test_a_catalog_file_without_source_or_url_keeps_them_and_stamps_changes(tmp_path, db_url):
    path = tmp_path / "catalog.csv"
    path.write_text(
        "slug,kind,title,source,url\n"
        "lib,topic,Library item,library,https://lib.example.com/a\n"
        "own,article,Own item,,\n"
    )
    assert cli(db_url, "catalog", "import", str(path)).output.strip() == (
        "Imported items: 2 created, 0 updated."
    )
    made = items(db_url)
    assert made["own"].source == ItemSource.OWN
    assert made["lib"].updated_at is not None
    first_stamp = made["lib"].updated_at
    # No source column, an empty url cell: both kept, nothing changed.
    path.write_text("slug,kind,title,url\nlib,topic,Library item,\n")
    result = cli(db_url, "catalog", "import", str(path))
    assert result.output.strip() == "Nothing changed: 1 item already up to date."
    lib = items(db_url)["lib"]
    assert (lib.source, lib.url) == (ItemSource.LIBRARY, "https://lib.example.com/a")
    assert lib.updated_at == first_stamp
    # A new title is a change: the item is updated and stamped, its source and url kept.
    path.write_text("slug,kind,title\nlib,topic,Library item renamed\n")
    assert cli(db_url, "catalog", "import", str(path)).output.strip() == (
        "Imported items: 0 created, 1 updated."
    )
    lib = items(db_url)["lib"]
    assert (lib.title, lib.source, lib.url) == (
        "Library item renamed",
        ItemSource.LIBRARY,
        "https://lib.example.com/a",
    )
    assert lib.updated_at > first_stamp


def test_a_mistyped_group_kind_is_refused_and_a_colon_name_is_written_with_group(tmp_path, db_url):
    path = tmp_path / "users.csv"
    path.write_text(
        "email,first_name,last_name,groups\n"
        "ann@example.com,Ann,Lee,qualifcation:First aid\n"
        "bob@example.com,Bob,Ray,badkind:Foo\n"
    )
    result = cli(db_url, "users", "import", str(path))
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        "  line 2: 'qualifcation:First aid': 'qualifcation' is not a kind of group; did you "
        "mean qualification:First aid?",
        "  line 3: 'badkind:Foo': 'badkind' is not a kind of group (company, department, team, "
        "function, group, qualification); a name with a colon in it is written group:NAME",
    ]
    assert people(db_url) == {}
    path.write_text(
        "email,first_name,last_name,groups\n"
        "ann@example.com,Ann,Lee,qualification:First aid; group:Ratio 3:1\n"
    )
    assert cli(db_url, "users", "import", str(path)).exit_code == 0

    async def work(session):
        rows = await session.execute(
            select(Group.kind, Group.name).join(Membership, Membership.group_id == Group.id)
        )
        return sorted((k.value, n) for k, n in rows)

    assert SyncDB(db_url).run(work) == [("group", "Ratio 3:1"), ("qualification", "First aid")]


def test_import_messages_say_how_to_fix_the_file(tmp_path, db_url):
    named = tmp_path / "users.xlsx"
    named.write_text("email,first_name,last_name\nann@example.com,Ann,Lee\n")
    result = cli(db_url, "users", "import", str(named))
    assert result.output.strip() == (
        f"Error: {named}: this file is CSV text named .xlsx: rename it to .csv (or save it from "
        "Excel as .xlsx); nothing was imported."
    )
    short = tmp_path / "groups.csv"
    short.write_text("group,kind,email\nSales,ann@example.com\n")
    result = cli(db_url, "groups", "import", str(short))
    assert result.output.strip() == (
        f"Error: {short}: line 2: expected 3 columns: group, kind, email; found 2; nothing was "
        "imported."
    )
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("slug,kind,title\n,topic,No slug\nfire-safety,topic,Fire safety\n")
    result = cli(db_url, "catalog", "import", str(catalog))
    assert result.output.strip() == (
        f"Error: {catalog}: line 2: the slug is empty; nothing was imported."
    )
    catalog.write_text("slug,kind,title\nfire-safety,topic,Fire safety\n")
    assert cli(db_url, "catalog", "import", str(catalog)).exit_code == 0
    users = tmp_path / "people.csv"
    users.write_text("email,first_name,last_name\nann@example.com,Ann,Lee\n")
    assert cli(db_url, "users", "import", str(users)).exit_code == 0
    done = tmp_path / "done.csv"
    done.write_text("email,item,completed_at\nann@example.com,fire-safty,2024-05-01\n")
    result = cli(db_url, "completions", "import", str(done))
    assert result.output.strip() == (
        f"Error: {done}: line 2: there's no item fire-safty: did you mean fire-safety?; "
        "nothing was imported."
    )
    codes = tmp_path / "codes.csv"
    codes.write_text("item,nickname\nfire-safty,Spring fair\n")
    result = cli(db_url, "tokens", "import", str(codes), "--yes")
    assert result.exit_code == 1
    assert "line 2: there is no item 'fire-safty'; did you mean 'fire-safety'?" in result.output


@pytest.fixture
def newcomers(db_url):
    async def work(session) -> None:
        org = await default_organisation(session)
        await directory.named_groups(
            session, org.id, GroupKind.GROUP, ["Newcomers"], create=GroupSource.MANUAL
        )

    SyncDB(db_url).run(work)
    return db_url


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        (
            "team.csv",
            "email,team\npat@outside.org,Newcomers\n",
            "line 1: unknown column 'team'; the columns are email, group, type",
        ),
        (
            "notes.csv",
            "email,group,notes\npat@outside.org,Newcomers,met at the fair\n",
            "line 1: unknown column 'notes'; the columns are email, group, type",
        ),
        (
            "users.csv",
            "email,first_name,last_name\nbob@outside.org,Bob,Ray\n",
            "line 1: this is a users file (email,first_name,last_name[,type]): import it with "
            "`enrolbot users import`",
        ),
        ("newcomers.txt", "email,group\npat@outside.org,Newcomers\n", "a .txt file can't be read"),
    ],
)
def test_invite_import_reads_its_header_as_the_other_imports_do(
    newcomers, tmp_path, name, text, says
):
    path = tmp_path / name
    path.write_text(text)
    result = cli(newcomers, "invite", "import", str(path))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {path}: {says}")
    assert "nothing was sent" in result.output


def test_invite_import_takes_its_columns_in_any_order(newcomers, tmp_path):
    path = tmp_path / "newcomers.csv"
    path.write_text("type,group,email\nclient,Newcomers,pat@outside.org\n,Nowhere,kim@x.org\n")
    result = cli(newcomers, "invite", "import", str(path))
    assert result.output.splitlines()[:5] == [
        "Preview of newcomers.csv:",
        "1 to invite",
        "  1 into Newcomers",
        "Rows to fix: 1",
        "  line 3: no group called Nowhere (`group list` shows them)",
    ]
    assert SyncDB(newcomers).scalar(select(func.count()).select_from(User)) == 0
