"""The `enrolbot` command as an admin runs it: real processes, real files, real databases."""

from __future__ import annotations

import asyncio
import socket
import stat
from importlib.metadata import version

import httpx
import pytest
from dotenv import dotenv_values
from sqlalchemy import func, select

from handlers.catalog import get_item
from handlers.links import default_link, token_for
from handlers.organisations import default_organisation
from handlers.signing import LinkSigner
from store.db import make_engine, make_sessionmaker
from store.models import CatalogItem, EnrolmentLink, User
from tests.support.processes import Server, enrolbot, free_port

KEY = "test-key-of-thirty-two-bytes-0123"


def counts(url: str) -> dict[str, int]:
    async def run() -> dict[str, int]:
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as s:
                return {
                    model.__tablename__: await s.scalar(select(func.count()).select_from(model))
                    for model in (CatalogItem, EnrolmentLink, User)
                }
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_secret_new_prints_a_fresh_key_each_time(tmp_path):
    first, second = (enrolbot("secret", "new", cwd=tmp_path) for _ in range(2))
    assert first.returncode == second.returncode == 0
    assert len(first.stdout.strip()) >= 40 and first.stdout != second.stdout


def test_help_names_every_command(tmp_path):
    out = enrolbot("--help", cwd=tmp_path).stdout
    for command in ("serve", "db", "catalog", "users", "secret"):
        assert command in out
    assert "slug,kind,title[,source" in enrolbot("catalog", "import", "--help", cwd=tmp_path).stdout
    assert (
        "email,first_name,last_name[,type]"
        in enrolbot("users", "import", "--help", cwd=tmp_path).stdout
    )


def test_catalog_import_creates_items_with_default_links_and_reimport_changes_nothing(
    tmp_path, db_url
):
    csv = tmp_path / "catalog.csv"
    csv.write_text(
        "slug,kind,title,source\n"
        "safety-101,topic,Safety 101,own\n"
        "privacy,article,Privacy basics,library\n"
        "onboarding,pathway,Onboarding,\n"
    )
    first = enrolbot("catalog", "import", str(csv), cwd=tmp_path, DATABASE_URL=db_url)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "Imported items: 3 created, 0 updated."
    assert counts(db_url) == {"catalog_item": 3, "enrolment_link": 3, "portal_user": 0}
    again = enrolbot("catalog", "import", str(csv), cwd=tmp_path, DATABASE_URL=db_url)
    assert again.stdout.strip() == "Nothing changed: 3 items already up to date."
    csv.write_text("safety-101,topic,Safety 101 (2027)\n")  # no header: documented column order
    renamed = enrolbot("catalog", "import", str(csv), cwd=tmp_path, DATABASE_URL=db_url)
    assert renamed.stdout.strip() == "Imported items: 0 created, 1 updated."
    assert counts(db_url)["enrolment_link"] == 3


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        (
            "slug,kind,title\na,topic,A\nb,course,B\n",
            "line 3: kind 'course' is not one of topic, article, pathway",
        ),
        (
            "slug,kind,title\na,topic,A\nb,topic,B\na,article,Again\n",
            "line 4: slug 'a' is already on line 2",
        ),
        ("slug,kind,title\nA B,topic,Spaces\n", "line 2: slug 'A B' must be lowercase"),
        ("slug,kind,title\na,topic,\n", "line 2: title is empty"),
        (
            "slug,kind,title,source\na,topic,A,borrowed\n",
            "line 2: source 'borrowed' is not one of own, library",
        ),
        ("slug,kind,title,colour\n", "line 1: unknown column 'colour'"),
        ("slug,kind,title\na,topic\n", "line 2: expected 3 to 5 columns"),
        ("slug,kind,title\n", "the file has no rows to import"),
    ],
)
def test_a_bad_catalog_row_aborts_with_its_line_and_writes_nothing(tmp_path, db_url, rows, error):
    csv = tmp_path / "catalog.csv"
    csv.write_text(rows)
    result = enrolbot("catalog", "import", str(csv), cwd=tmp_path, DATABASE_URL=db_url)
    assert result.returncode == 1
    assert (
        result.stderr.strip() == f"Error: {csv}: {error}" + result.stderr.strip().split(error, 1)[1]
    )
    assert result.stderr.strip().endswith("nothing was imported.")
    assert len(result.stderr.strip().splitlines()) == 1
    assert counts(db_url)["catalog_item"] == 0


def test_users_import_upserts_by_email_without_case(tmp_path, db_url):
    csv = tmp_path / "users.csv"
    csv.write_text(
        "email,first_name,last_name,type\nAnn@Example.com,Ann,Lee,staff\nbo@example.com,Bo,Chan,client\n"
    )
    assert enrolbot(
        "users", "import", str(csv), cwd=tmp_path, DATABASE_URL=db_url
    ).stdout.strip() == ("Imported users: 2 created, 0 updated.")
    csv.write_text(
        "email,first_name,last_name\nann@example.COM,Ann,Lee-Smith\nbo@example.com,Bo,Chan\n"
    )
    result = enrolbot("users", "import", str(csv), cwd=tmp_path, DATABASE_URL=db_url)
    # Ann's last name changes; Bo stays a client: a file without a type column keeps types.
    assert result.stdout.strip() == "Imported users: 0 created, 1 updated, 1 unchanged."
    assert counts(db_url)["portal_user"] == 2


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        (
            "email,first_name,last_name\nann@example.com,Ann,Lee\nnot-an-email,X,Y\n",
            "line 3: 'not-an-email' is not a valid email address",
        ),
        (
            "email,first_name,last_name\nann@example.com,Ann,Lee\nANN@example.com,Ann,L\n",
            "line 3: ann@example.com is already on line 2",
        ),
        (
            "email,first_name,last_name,type\nann@example.com,Ann,Lee,boss\n",
            "line 2: type 'boss' is not one of staff, client, prospect",
        ),
    ],
)
def test_a_bad_user_row_aborts_with_its_line_and_writes_nothing(tmp_path, db_url, rows, error):
    csv = tmp_path / "users.csv"
    csv.write_text(rows)
    result = enrolbot("users", "import", str(csv), cwd=tmp_path, DATABASE_URL=db_url)
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error: {csv}: {error}; nothing was imported."
    assert counts(db_url)["portal_user"] == 0


def test_a_missing_file_and_a_non_utf8_file_get_one_line(tmp_path):
    missing = enrolbot("users", "import", "nope.csv", cwd=tmp_path)
    assert missing.returncode == 2 and "'nope.csv' does not exist" in missing.stderr
    latin = tmp_path / "latin.csv"
    latin.write_bytes("email,first_name,last_name\nzoe@example.com,Zoë,Ng\n".encode("latin-1"))
    result = enrolbot("users", "import", str(latin), cwd=tmp_path)
    assert result.returncode == 1 and "not UTF-8 text" in result.stderr


def button_token(url: str, slug: str, key: str) -> str:
    """The token of the Enrol button an admin would post for `slug`, signed with `key`."""

    async def run() -> str:
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as s:
                org = await default_organisation(s)
                link = await default_link(s, await get_item(s, org.id, slug))
                return token_for(LinkSigner([key]), link)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_the_first_serve_writes_a_private_key_to_env_and_posted_buttons_survive_restarts(
    tmp_path,
):
    server = Server(tmp_path)  # no key anywhere: the quick start has no key step
    try:
        assert server.wait_healthy().status_code == 200
    finally:
        first = server.stop()
    env_file = tmp_path / ".env"
    assert "Made a new signing key and wrote it to ./.env; keep that file." in first.splitlines()
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    key = dotenv_values(env_file)["ENROLBOT_SECRET_KEY"]
    assert len(key.encode()) >= 32

    (tmp_path / "catalog.csv").write_text("safety-101,topic,Safety 101\n")
    assert enrolbot("catalog", "import", "catalog.csv", cwd=tmp_path).returncode == 0
    token = button_token(f"sqlite:///{tmp_path / 'enrolbot.db'}", "safety-101", key)
    server = Server(tmp_path)  # a restart, as after a reboot or a re-run of the quick start
    try:
        server.wait_healthy()
        page = httpx.get(f"{server.url}/enrol/{token}")
    finally:
        second = server.stop()
    assert page.status_code == 200 and "Safety 101" in page.text
    assert "signing key" not in second and "Warning" not in second
    assert dotenv_values(env_file)["ENROLBOT_SECRET_KEY"] == key


def test_a_blank_key_in_an_existing_env_file_is_filled_in_and_the_rest_kept(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("ENROLBOT_ADMINS=boss@example.com\nENROLBOT_SECRET_KEY=\n")
    server = Server(tmp_path)
    try:
        server.wait_healthy()
    finally:
        server.stop()
    values = dotenv_values(env_file)
    assert values["ENROLBOT_ADMINS"] == "boss@example.com"
    assert len(values["ENROLBOT_SECRET_KEY"]) >= 32
    assert env_file.read_text().count("ENROLBOT_SECRET_KEY=") == 1
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


def test_an_exported_key_that_differs_from_the_env_file_gets_a_warning(tmp_path):
    (tmp_path / ".env").write_text(f"ENROLBOT_SECRET_KEY={KEY}-in-the-file\n")
    server = Server(tmp_path, ENROLBOT_SECRET_KEY=KEY)
    try:
        server.wait_healthy()
    finally:
        out = server.stop()
    assert (
        "Warning: ENROLBOT_SECRET_KEY in the environment is not the one in ./.env; the "
        "environment's is used, so buttons and links signed with the other no longer work."
    ) in out
    same = Server(tmp_path, ENROLBOT_SECRET_KEY=f"{KEY}-in-the-file")
    try:
        same.wait_healthy()
    finally:
        assert "Warning" not in same.stop()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("test-key", "ENROLBOT_SECRET_KEY is 8 bytes long"),
        (f"{KEY},old", "Key 2 of ENROLBOT_SECRET_KEY is 3 bytes long"),
    ],
)
def test_serve_refuses_a_short_key_and_says_why(tmp_path, value, error):
    result = enrolbot("serve", cwd=tmp_path, ENROLBOT_SECRET_KEY=value)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: {error}; a key needs at least 32 random bytes, or it can be guessed and used "
        "to sign Enrol buttons and links: make one with `enrolbot secret new`."
    )
    assert not (tmp_path / "enrolbot.db").exists() and not (tmp_path / ".env").exists()


def test_serve_on_a_taken_port_says_so_and_never_says_listening(tmp_path):
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        result = enrolbot("serve", "--port", str(port), cwd=tmp_path, ENROLBOT_SECRET_KEY=KEY)
    assert result.returncode == 1
    assert "listening" not in result.stdout
    assert result.stderr.strip() == (
        f"Error: Port {port} on 127.0.0.1 is taken: another program (another enrolbot?) is "
        "listening there. Stop it, or choose another port with --port."
    )


def test_version_prints_the_installed_version(tmp_path):
    result = enrolbot("--version", cwd=tmp_path)
    assert (result.returncode, result.stdout.strip()) == (0, f"enrolbot {version('enrolbot')}")


def test_postgresql_without_its_driver_says_what_to_install(tmp_path):
    # A package that fails to import as a missing one does: what `pip install -e .` leaves.
    missing = tmp_path / "missing" / "asyncpg"
    missing.mkdir(parents=True)
    (missing / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'asyncpg'\", name='asyncpg')\n"
    )
    url = "postgresql://bot@127.0.0.1:5432/enrol"
    for args in (("db", "upgrade"), ("serve",)):
        result = enrolbot(
            *args,
            cwd=tmp_path,
            DATABASE_URL=url,
            ENROLBOT_SECRET_KEY=KEY,
            PYTHONPATH=str(missing.parent),
        )
        assert result.returncode == 1
        assert result.stderr.strip() == (
            "Error: 127.0.0.1/enrol is a PostgreSQL database, and its driver (asyncpg) is not "
            "installed: run pip install -e '.[postgres]'."
        )


def test_serve_refuses_a_slack_client_id_without_a_bot_token(tmp_path):
    result = enrolbot(
        "serve",
        cwd=tmp_path,
        ENROLBOT_SECRET_KEY=KEY,
        SLACK_SIGNING_SECRET="s",
        SLACK_CLIENT_ID="123.456",
        SLACK_CLIENT_SECRET="c",
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: SLACK_CLIENT_ID is set without SLACK_BOT_TOKEN, but this version cannot yet "
        "install itself into workspaces through Slack's OAuth: set SLACK_BOT_TOKEN "
        "(OAuth & Permissions, Bot User OAuth Token); SLACK_CLIENT_ID and "
        "SLACK_CLIENT_SECRET beside it turn on Sign in with Slack for deep links."
    )


def test_a_malformed_database_url_is_one_line_not_a_traceback(tmp_path):
    result = enrolbot("serve", cwd=tmp_path, ENROLBOT_SECRET_KEY=KEY, DATABASE_URL="postgres:/x::y")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: DATABASE_URL is not a database URL")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_an_unreachable_database_is_one_line(tmp_path):
    url = "postgresql://nobody@127.0.0.1:1/none"
    result = enrolbot("db", "upgrade", cwd=tmp_path, DATABASE_URL=url)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: Cannot reach the database at 127.0.0.1/none")
    assert "Traceback" not in result.stderr


def test_serve_refuses_several_workers_on_sqlite_and_says_what_works(tmp_path):
    result = enrolbot("serve", "--workers", "2", cwd=tmp_path, ENROLBOT_SECRET_KEY=KEY)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: Several workers need PostgreSQL: SQLite lets one process write at a time. "
        "Run one worker, or set DATABASE_URL to a PostgreSQL database."
    )
    assert not (tmp_path / "enrolbot.db").exists()


def test_serve_on_a_fresh_directory_creates_the_sqlite_schema_and_is_healthy(tmp_path):
    server = Server(tmp_path, ENROLBOT_SECRET_KEY=KEY)
    try:
        response = server.wait_healthy()
        assert (response.status_code, response.json()) == (200, {"status": "ok"})
        metrics = __import__("httpx").get(f"{server.url}/metrics")
        assert metrics.status_code == 200 and "enrolbot_clicks_total" in metrics.text
    finally:
        out = server.stop()
    assert "Created the database schema in ./enrolbot.db." in out
    assert "Warning" not in out  # nothing alarming on a first start that went well
    assert (tmp_path / "enrolbot.db").exists()


def test_serve_is_healthy_on_a_migrated_database(tmp_path, db_url):
    server = Server(tmp_path, ENROLBOT_SECRET_KEY=KEY, DATABASE_URL=db_url)
    try:
        assert server.wait_healthy().status_code == 200
    finally:
        out = server.stop()
    assert "Created the database schema" not in out


def test_db_upgrade_migrates_an_empty_database_and_then_has_nothing_to_do(
    tmp_path, databases, backend
):
    url = databases.empty(backend)
    try:
        if backend == "postgresql":
            # serve never creates a schema on a server database by itself
            refused = enrolbot("serve", cwd=tmp_path, ENROLBOT_SECRET_KEY=KEY, DATABASE_URL=url)
            assert refused.returncode == 1
            assert refused.stderr.strip().endswith("has no tables yet: run `enrolbot db upgrade`.")
        first = enrolbot("db", "upgrade", cwd=tmp_path, DATABASE_URL=url)
        assert first.returncode == 0, first.stderr
        assert "from empty to" in first.stdout
        again = enrolbot("db", "upgrade", cwd=tmp_path, DATABASE_URL=url)
        assert "already at the current schema" in again.stdout
    finally:
        databases.drop(url)


def test_serve_refuses_a_database_of_an_unknown_schema(tmp_path, db_url):
    async def stamp() -> None:
        engine = make_engine(db_url)
        async with engine.begin() as conn:
            await conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff'")
        await engine.dispose()

    asyncio.run(stamp())
    result = enrolbot("serve", cwd=tmp_path, ENROLBOT_SECRET_KEY=KEY, DATABASE_URL=db_url)
    assert result.returncode == 1
    assert "holds tables enrolbot does not know (revision ffff)" in result.stderr


def test_the_readme_synopsis_shows_every_command_and_option_and_no_other():
    import re
    from pathlib import Path

    import click

    from bot.cli import main

    def options(command: click.Command) -> set[str]:
        found = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
        for sub in getattr(command, "commands", {}).values():
            found |= options(sub)
        return {o for o in found if o.startswith("--")} - {"--help"}

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = readme.split("## The command line\n\n```\n", 1)[1].split("```", 1)[0]
    shown: dict[str, set[str]] = {}
    for line in block.splitlines():
        name = line.split()[1]
        if name.startswith("--"):  # enrolbot --version
            continue
        shown.setdefault(name, set()).update(re.findall(r"--[a-z][a-z-]*", line))
        command = main.commands[name]
        if isinstance(command, click.Group):
            for sub in re.findall(rf"(?:enrolbot {name}|\| {name}) ([a-z]+)", line):
                assert sub in command.commands, line
    assert {name: options(c) for name, c in main.commands.items()} == shown


def test_the_database_and_a_report_are_created_readable_by_their_owner_only(tmp_path):
    """They hold people's names, emails and enrolments, as .env holds the key: 0600 when we
    create them; a file someone made already keeps the mode they gave it."""
    server = Server(tmp_path, ENROLBOT_SECRET_KEY=KEY)
    try:
        server.wait_healthy()
        made = [p for p in tmp_path.iterdir() if p.name.startswith("enrolbot.db")]
        assert {p.name for p in made} >= {"enrolbot.db", "enrolbot.db-wal", "enrolbot.db-shm"}
        assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in made} == {
            p.name: 0o600 for p in made
        }
    finally:
        server.stop()
    (tmp_path / "items.csv").write_text("slug,kind,title\nsafety-101,topic,Safety 101\n")
    assert enrolbot("catalog", "import", "items.csv", cwd=tmp_path).returncode == 0
    done = enrolbot("report", "safety-101", "--csv", "out.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE((tmp_path / "out.csv").stat().st_mode) == 0o600

    group_readable = tmp_path / "team.db"
    group_readable.touch(mode=0o640)
    group_readable.chmod(0o640)
    upgraded = enrolbot("db", "upgrade", cwd=tmp_path, DATABASE_URL="sqlite:///./team.db")
    assert upgraded.returncode == 0, upgraded.stderr
    assert stat.S_IMODE(group_readable.stat().st_mode) == 0o640
    assert (
        enrolbot("db", "upgrade", cwd=tmp_path, DATABASE_URL="sqlite:///./new.db").returncode == 0
    )
    assert stat.S_IMODE((tmp_path / "new.db").stat().st_mode) == 0o600
