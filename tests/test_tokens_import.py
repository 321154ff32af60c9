"""`enrolbot tokens import FILE`: .csv and .xlsx, previewed, all or nothing with line numbers,
the new codes handed over once. The real command, run in process (click's runner) against the
test's database."""

from __future__ import annotations

import csv
import io
import os
import re
import stat

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import select

from bot.cli import main
from handlers import tokens
from handlers.catalog import create_item
from handlers.organisations import default_organisation
from handlers.signing import LinkSigner
from store.models import AuditEvent, ItemKind, ItemSource, RegistrationToken
from tests.support.syncdb import SyncDB

KEY = "tokens-import-test-key-0123456789abcdef"
PUBLIC_URL = "https://learn.acme.test"


@pytest.fixture
def world(db_url, tmp_path, monkeypatch):
    """Three items (one from the library) and a token the files can name."""
    monkeypatch.chdir(tmp_path)

    async def work(session) -> None:
        org = await default_organisation(session)
        safety = await create_item(
            session, org.id, slug="safety-101", kind=ItemKind.TOPIC, title="Safety 101"
        )
        await create_item(session, org.id, slug="gdpr-basics", kind=ItemKind.ARTICLE, title="GDPR")
        await create_item(
            session,
            org.id,
            slug="vendor-fire",
            kind=ItemKind.TOPIC,
            title="Fire",
            source=ItemSource.LIBRARY,
        )
        await tokens.create_token(
            session, LinkSigner([KEY]), safety, nickname="Newsletter", created_by_user_id=None
        )

    SyncDB(db_url).run(work)
    return db_url


def cli(db_url: str, *args: str, input: str | None = None):
    env = {"DATABASE_URL": db_url, "ENROLBOT_SECRET_KEY": KEY, "ENROLBOT_PUBLIC_URL": PUBLIC_URL}
    return CliRunner().invoke(main, ["tokens", "import", *args], env=env, input=input)


def state(db_url: str) -> dict[tuple[int, str], bool]:
    async def work(session):
        rows = await session.execute(
            select(
                RegistrationToken.item_id, RegistrationToken.nickname, RegistrationToken.is_active
            )
        )
        return {(item, nick): active for item, nick, active in rows}

    return SyncDB(db_url).run(work)


def works(db_url: str, code: str) -> str:
    async def work(session):
        org = await default_organisation(session)
        check = await tokens.check_code(session, LinkSigner([KEY]), code, org.id)
        return check.state.value

    return SyncDB(db_url).run(work)


GOOD = "item,nickname,status\nsafety-101,Spring fair,active\nsafety-101,newsletter,deactivated\ngdpr-basics,Intranet,\n"


def test_a_csv_is_previewed_then_imported_and_the_codes_are_shown_once(world, tmp_path):
    path = tmp_path / "tokens.csv"
    path.write_text(GOOD)
    result = cli(world, str(path), input="y\n")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:5] == [
        f"{path}: 2 tokens to create, 1 to deactivate, 0 to activate, 0 unchanged:",
        "  line 2: create a token “Spring fair” for safety-101 (active)",
        "  line 3: deactivate t1 “newsletter” of safety-101",
        "  line 4: create a token “Intranet” for gdpr-basics (active)",
        "Go ahead? [y/N]: y",
    ]
    assert lines[5:8] == [
        "Imported tokens: 2 created, 1 updated.",
        "The new codes, shown only this once:",
        lines[7],
    ]
    codes = re.findall(
        r"([2-9A-Z]{5}-[2-9A-Z]{5})  " + re.escape(PUBLIC_URL) + r"/register\?token=\1",
        result.output,
    )
    assert len(codes) == 2
    assert lines[7].startswith("  safety-101 “Spring fair”: ")
    assert all(works(world, code) == "ok" for code in codes)
    assert sorted(state(world).values()) == [False, True, True]
    # The same file again changes nothing.
    again = cli(world, str(path))
    assert again.exit_code == 0
    assert again.output.splitlines()[0] == (
        f"{path}: 0 tokens to create, 0 to deactivate, 0 to activate, 3 unchanged:"
    )
    assert again.output.splitlines()[-1] == "Nothing to change."


def test_an_xlsx_with_out_writes_the_codes_to_a_private_new_file(world, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Item", "Nickname", "Status"])
    sheet.append(["safety-101", "@Spring fair", "active"])
    sheet.append([])
    sheet.append(["gdpr-basics", 2026, None])  # a number, as Excel keeps it
    path = tmp_path / "tokens.xlsx"
    book.save(path)
    result = cli(world, str(path), "--out", "codes.csv", "--yes")
    assert result.exit_code == 0, result.output
    assert "  line 4: create a token “2026” for gdpr-basics (active)" in result.output
    assert "The new codes are in codes.csv (readable by you only)" in result.output
    assert not re.search(r"[2-9A-Z]{5}-[2-9A-Z]{5}", result.output)
    out = tmp_path / "codes.csv"
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["item", "nickname", "status", "code", "link"]
    assert rows[1][:3] == ["safety-101", "'@Spring fair", "active"]  # not a formula
    assert rows[2][:3] == ["gdpr-basics", "2026", "active"]
    for row in rows[1:]:
        assert row[4] == f"{PUBLIC_URL}/register?token={row[3]}"
        assert works(world, row[3]) == "ok"
    # Codes are never written over: an existing file is refused before anything happens.
    again = cli(world, str(path), "--out", "codes.csv", "--yes")
    assert again.exit_code == 1
    assert "codes.csv already exists" in again.output


def test_a_wrong_row_changes_nothing_and_every_wrong_row_is_named_by_its_line(world, tmp_path):
    before = state(world)
    path = tmp_path / "tokens.csv"
    path.write_text(
        "item,nickname,status\n"
        "safety-101,Fine,active\n"
        "fire-drill,Fair,active\n"
        "vendor-fire,Fair,active\n"
        "safety-101,Paused,off\n"
        "safety-101,,active\n"
        "safety-101,fine,deactivated\n"
    )
    result = cli(world, str(path), "--yes")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {path}: 5 rows are wrong; nothing was imported:\n"
        "  line 3: there is no item 'fire-drill'\n"
        "  line 4: vendor-fire is a library item; tokens are only for your own items\n"
        "  line 5: status 'off' is not one of active, deactivated\n"
        "  line 6: nickname is empty: each token in a file is named by its nickname\n"
        "  line 7: safety-101 “fine” is already on line 2\n"
    )
    assert state(world) == before


def test_the_rows_own_mistakes_come_first_then_the_databases(world, tmp_path):
    path = tmp_path / "tokens.csv"
    path.write_text("item,nickname,status\nfire-drill,Fair,active\n")
    result = cli(world, str(path), "--yes")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {path}: line 2: there is no item 'fire-drill'; nothing was imported.\n"
    )


def test_the_wrong_kind_of_file_is_named(world, tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text("slug,kind,title\nsafety-101,topic,Safety\n")
    result = cli(world, str(path), "--yes")
    assert result.exit_code == 1
    assert "this is a catalog file" in result.output
    old = tmp_path / "tokens.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    result = cli(world, str(old), "--yes")
    assert "save the spreadsheet as .xlsx or as CSV UTF-8" in result.output


def test_a_dry_run_or_a_no_changes_nothing(world, tmp_path):
    path = tmp_path / "tokens.csv"
    path.write_text(GOOD)
    before = state(world)
    dry = cli(world, str(path), "--dry-run")
    assert dry.exit_code == 0
    assert dry.output.splitlines()[-1] == "Nothing was changed."
    declined = cli(world, str(path), input="n\n")
    assert declined.exit_code == 1
    assert "Nothing was changed (add --yes to import without being asked)." in declined.output
    assert state(world) == before
    audit = SyncDB(world).scalar(select(AuditEvent.id).where(AuditEvent.action.like("token.%")))
    assert audit is None
