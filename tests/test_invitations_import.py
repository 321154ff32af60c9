"""enrolbot invite import FILE [--yes]: the preview (rows to fix by number, repeats, already
invited, already members, known people), all or nothing, the 500-row limit; and 500 invitations
delivered to a real SMTP server across a restart halfway, none lost."""

from __future__ import annotations

import asyncio
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from bot.email import EmailDelivery, SmtpSettings
from handlers import directory
from handlers.invitations import InviteSigner, invite_url
from handlers.organisations import default_organisation
from handlers.outbox import Channel, Delivery
from store.db import make_engine, make_sessionmaker
from store.models import GroupKind, GroupSource, Invitation, OutboxMessage, OutboxStatus, User
from tests.support.smtp import smtp_server
from tests.support.syncdb import SyncDB

KEY = "invite-import-test-key-0123456789abcdef"


@pytest.fixture
def world(db_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    async def work(session) -> None:
        org = await default_organisation(session)
        await directory.named_groups(
            session, org.id, GroupKind.GROUP, ["Newcomers", "Drivers"], create=GroupSource.MANUAL
        )
        session.add(
            User(organisation_id=org.id, email="ann@acme.test", first_name="Ann", last_name="Lee")
        )

    SyncDB(db_url).run(work)
    return db_url


def cli(db_url: str, *args: str, smtp: str = "smtp://127.0.0.1:2525"):
    env = {"DATABASE_URL": db_url, "ENROLBOT_SECRET_KEY": KEY, "SMTP_URL": smtp}
    return CliRunner().invoke(main, ["invite", "import", *args], env=env)


def invitations_held(db_url: str) -> int:
    return SyncDB(db_url).count(Invitation)


def test_the_preview_names_rows_to_fix_and_nothing_is_sent_until_they_are(world, tmp_path):
    sheet = tmp_path / "people.csv"
    sheet.write_text(
        "email,group,type\n"
        "pat@outside.org,Newcomers,client\n"
        "ann@acme.test,Drivers\n"
        "PAT@outside.org,Drivers\n"
        "not-an-email,Newcomers\n"
        "kim@outside.org,Nowhere\n"
        "lou@outside.org,Newcomers,boss\n"
    )
    shown = cli(world, str(sheet), "--yes")
    assert shown.exit_code == 1
    assert shown.output.splitlines()[:11] == [
        "Preview of people.csv:",
        "2 to invite",
        "  1 into Drivers",
        "  1 into Newcomers",
        "Rows to fix: 3",
        "  line 5: `not-an-email` is not an email",
        "  line 6: no group called Nowhere (`group list` shows them)",
        "  line 7: `boss` is not a type: staff or client",
        "Repeated (only the first row counts): 1",
        "  line 4: pat@outside.org",
        "Already have an account (accepting adds them to the group): 1",
    ]
    assert "nothing was sent" in shown.output
    assert invitations_held(world) == 0
    sheet.write_text("email,group\npat@outside.org,Newcomers\nann@acme.test,Drivers\n")
    preview = cli(world, str(sheet))
    assert preview.exit_code == 0 and "run it again with --yes" in preview.output
    assert invitations_held(world) == 0
    sent = cli(world, str(sheet), "--yes")
    assert sent.exit_code == 0, sent.output
    assert "Sent 2 invitations" in sent.output and invitations_held(world) == 2
    again = cli(world, str(sheet))
    assert "Already invited (invite resend EMAIL sends again): 2" in again.output
    assert "0 to invite" in again.output


def test_more_than_500_rows_are_refused_whole(world, tmp_path):
    sheet = tmp_path / "many.csv"
    sheet.write_text("".join(f"p{n}@outside.org,Newcomers\n" for n in range(501)))
    refused = cli(world, str(sheet), "--yes")
    assert refused.exit_code == 1
    assert "it has 501 rows and at most 500 can be invited at once: split it" in refused.output
    assert invitations_held(world) == 0


async def pending(session) -> int:
    return await session.scalar(
        select(func.count()).where(OutboxMessage.status == OutboxStatus.PENDING)
    )


def test_500_invitations_reach_the_mail_server_across_a_restart_halfway(world, tmp_path):
    sheet = tmp_path / "five-hundred.csv"
    sheet.write_text("".join(f"p{n}@outside.org,Newcomers\n" for n in range(500)))
    with smtp_server() as inbox:
        assert cli(world, str(sheet), "--yes", smtp=inbox.url).exit_code == 0
        signer = InviteSigner([KEY])
        link = lambda payload: invite_url("http://learn.acme.test", signer, payload)  # noqa: E731
        channel = Channel(EmailDelivery(SmtpSettings(inbox.url), link).send, 200)

        async def deliver(stop_after: int | None) -> None:
            """Send until `stop_after` emails arrived, or (None) until nothing is pending."""
            engine = make_engine(world)
            sessions = make_sessionmaker(engine)
            delivery = Delivery(
                sessions, {"email": channel}, lease_seconds=3
            )  # a send may take 1.5 s
            deadline = time.monotonic() + 120
            try:
                while time.monotonic() < deadline:
                    if stop_after is not None and len(inbox.messages) >= stop_after:
                        break
                    if stop_after is None:
                        async with sessions() as session:
                            if not await pending(session):
                                break
                    await delivery.run_once()
                    await asyncio.sleep(0.01)
            finally:
                await delivery.close()  # the process stops: sends under way are cut off
                await engine.dispose()

        asyncio.run(deliver(250))
        assert 250 <= len(inbox.messages) < 500
        time.sleep(3.1)  # the stopped worker's leases run out
        asyncio.run(deliver(None))  # the restarted service
        recipients = {r for rcpts, _ in inbox.messages for r in rcpts}
        assert recipients == {f"p{n}@outside.org" for n in range(500)}

    assert SyncDB(world).run(pending) == 0
