"""`invite import` from chat, in process on both databases: the command asks admins with a mail
server for the file; a staged import (handlers.invitations_staged) is sent only by the admin
who previewed it, only once, after its rows are checked again against the database as it is
then; each invitation is audited and its email is in the outbox."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from handlers import invitations_staged as staged
from handlers.alert_message import GROUP_INVITATION
from handlers.commands import run
from handlers.enrol_import_text import AskForImportFile, ImportKind
from handlers.invitations_import import plan
from handlers.replies import Tone
from store.models import AuditEvent, Group, Invitation, InviteImport, OutboxMessage, utcnow
from tests.support.command_world import BOSS, error

ROWS = [(2, ["pat@outside.org", "Newcomers"]), (3, ["kim@outside.org", "Drivers", "client"])]


async def count(acme, model, *where) -> int:
    return await acme.session.scalar(select(func.count()).select_from(model).where(*where))


async def test_invite_import_asks_admins_with_a_mail_server_for_the_file(acme):
    reply = await run(await acme.ctx(BOSS, can_email=True), "invite import")
    assert isinstance(reply, AskForImportFile) and reply.kind is ImportKind.INVITE
    assert "attach it to a message that says `invite import`" in reply.instead.text
    assert "first row is email, group" in reply.instead.text
    assert "SMTP_URL" in error(await run(await acme.ctx(BOSS), "invite import"))
    learner = await acme.ctx("ann@example.com", can_email=True)
    assert error(await run(learner, "invite import")).startswith(
        "Only enrolment admins can invite people"
    )


async def test_a_staged_import_is_sent_once_by_its_admin_after_a_second_check(acme):
    ctx = await acme.ctx(BOSS, can_email=True)
    for name in ("Newcomers", "Drivers"):
        assert (await run(ctx, f"group create {name}")).tone is Tone.SUCCESS
    assert (await plan(acme.session, acme.org, ROWS)).ready
    boss, sue = acme.users[BOSS], acme.users["sue@example.com"]
    import_id = await staged.stage(acme.session, acme.org.id, boss.id, "people.csv", ROWS)
    await acme.session.commit()

    async def send(user) -> object:
        reply = await staged.send(
            acme.session, acme.org, import_id, by_user_id=user.id, by="slack:T/U", by_name="Bo"
        )
        await acme.session.commit()
        return reply

    assert (await send(sue)).text.startswith("Only the admin who sent this file")
    drivers = await acme.session.scalar(select(Group).where(Group.name == "Drivers"))
    drivers.deleted_at = utcnow()  # gone between the preview and the press
    await acme.session.commit()
    changed = await send(boss)
    assert changed.tone is Tone.ERROR and changed.text.startswith("Things changed since the")
    assert "  line 3: no group called Drivers (`group list` shows them)" in changed.lines
    assert await count(acme, Invitation) == 0
    assert (await acme.session.get(InviteImport, import_id)).sent_at is None

    drivers.deleted_at = None
    await acme.session.commit()
    sent = await send(boss)
    assert sent.tone is Tone.SUCCESS and sent.text.startswith("Sent 2 invitations")
    assert await count(acme, Invitation) == 2
    assert await count(acme, OutboxMessage, OutboxMessage.kind == GROUP_INVITATION) == 2
    assert await count(acme, AuditEvent, AuditEvent.action == "invite.sent") == 2
    record = await acme.session.get(InviteImport, import_id)
    await acme.session.refresh(record)
    assert record.sent_at is not None and record.invited == 2 and record.rows == []
    assert (await send(boss)).text.startswith("These invitations were sent already")
    assert await count(acme, Invitation) == 2


async def test_previews_never_sent_are_forgotten_once_expired(acme):
    boss = acme.users[BOSS]
    old = await staged.stage(acme.session, acme.org.id, boss.id, "old.csv", ROWS)
    (await acme.session.get(InviteImport, old)).created_at = utcnow() - timedelta(hours=2)
    await acme.session.commit()
    new = await staged.stage(acme.session, acme.org.id, boss.id, "new.csv", ROWS)
    await acme.session.commit()
    kept = (await acme.session.execute(select(InviteImport.id))).scalars().all()
    assert kept == [new]


def test_the_signed_id_expires_and_cannot_be_forged():
    signer = staged.InviteImportSigner(["a-key-of-thirty-two-bytes-0123456789"])
    token = signer.sign(1, 7)
    assert signer.read(token) == (1, 7)
    assert signer.read(token[:-2] + "xx") is None
    assert staged.InviteImportSigner(["another-key-of-thirty-two-bytes-0123"]).read(token) is None
    assert signer.read("") is None
