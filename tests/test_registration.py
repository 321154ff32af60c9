"""handlers.registration in process: who becomes what, which invitations are written, and that
an invitation outlives a mail server that is down (it waits in the outbox, written with the
enrolment, and goes once the server answers)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from bot.email import EmailDelivery, SmtpSettings, build
from handlers import tokens
from handlers.outbox import Batch, Channel, Delivery
from handlers.registration import (
    Applicant,
    Confirmed,
    ConfirmSigner,
    Registered,
    confirm,
    confirm_url,
    register,
)
from handlers.signing import LinkSigner
from store.models import OutboxMessage, OutboxStatus, User, UserType, utcnow
from tests.support import factories
from tests.support.processes import free_port
from tests.support.smtp import smtp_server

SIGNER = LinkSigner(["registration-test-key-0123456789abcdef"])
PUBLIC_URL = "https://learn.acme.test"


async def _world(session):
    org = await factories.organisation(session, name="Acme")
    item = await factories.item(session, org, "safety-101", title="Safety 101")
    _, code = await tokens.create_token(
        session, SIGNER, item, nickname="fair", created_by_user_id=None
    )
    await session.commit()
    return org, code


async def _register(session, org, code, email="pat@example.org", can_email=True, **names):
    fields = {"first_name": "Pat", "last_name": "Jones", "email": email, "token": code} | names
    result = await register(
        session,
        signer=SIGNER,
        organisation=org,
        applicant=Applicant.of(fields),
        can_email=can_email,
    )
    await session.commit()
    return result


async def _invitations(session) -> list[OutboxMessage]:
    rows = await session.execute(
        select(OutboxMessage).where(OutboxMessage.kind == "invitation").order_by(OutboxMessage.id)
    )
    return list(rows.scalars())


async def test_an_invitation_waits_out_a_mail_server_that_is_down(sessions, session):
    org, code = await _world(session)
    result = await _register(session, org, code)
    assert result.outcome is Registered.INVITED
    (row,) = await _invitations(session)
    assert (row.destination, row.status) == ("email:pat@example.org", OutboxStatus.PENDING)

    now = [utcnow()]
    confirms = ConfirmSigner(SIGNER.keys)

    def link(payload: dict) -> str:
        return confirm_url(PUBLIC_URL, confirms, payload)

    down = EmailDelivery(SmtpSettings(f"smtp://127.0.0.1:{free_port()}"), link)
    delivery = Delivery(sessions, {"email": Channel(down.send, 200)}, clock=lambda: now[0])
    assert await delivery.run_once() == 0
    async with sessions() as s:
        row = await s.get(OutboxMessage, row.id)
        assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
        assert "talking to the mail server" in row.last_error

    with smtp_server() as inbox:
        up = EmailDelivery(SmtpSettings(inbox.url), link)
        delivery = Delivery(sessions, {"email": Channel(up.send, 200)}, clock=lambda: now[0])
        now[0] += timedelta(minutes=5)
        assert await delivery.run_once() == 1
        ((to, mail),) = inbox.messages
    assert to == ["pat@example.org"]
    url = re.search(r"https://\S+", mail.get_content()).group(0)
    token = url.removeprefix(f"{PUBLIC_URL}/register/confirm?t=")
    done = await confirm(session, confirms, org, token)
    await session.commit()
    assert done.outcome is Confirmed.CONFIRMED
    assert done.user.email_confirmed_at is not None


async def test_a_prospect_who_never_confirmed_gets_a_new_invitation_and_a_confirmed_one_none(
    session,
):
    org, code = await _world(session)
    await _register(session, org, code)
    again = await _register(session, org, code, first_name="Someone", last_name="Else")
    assert again.outcome is Registered.INVITED
    assert len(await _invitations(session)) == 2
    user = (await session.execute(select(User).where(User.email == "pat@example.org"))).scalar_one()
    assert (user.first_name, user.last_name, user.type) == ("Pat", "Jones", UserType.PROSPECT)
    user.email_confirmed_at = utcnow()
    await session.commit()
    third = await _register(session, org, code)
    assert third.outcome is Registered.ALREADY_ENROLLED
    assert len(await _invitations(session)) == 2


async def test_without_smtp_a_new_person_is_registered_and_no_invitation_is_written(session):
    org, code = await _world(session)
    result = await _register(session, org, code, can_email=False)
    assert result.outcome is Registered.REGISTERED
    assert await _invitations(session) == []
    count = await session.scalar(select(func.count()).select_from(User))
    assert count == 1


async def test_typed_line_breaks_never_reach_the_invitation_as_lines_of_their_own(session):
    org, code = await _world(session)
    await _register(session, org, code, first_name="Pat\r\nBcc: all@acme.test\u2028x")
    user = (await session.execute(select(User).where(User.email == "pat@example.org"))).scalar_one()
    assert user.first_name == "Pat Bcc: all@acme.test x"
    (row,) = await _invitations(session)
    confirms = ConfirmSigner(SIGNER.keys)
    mail = build(
        "alerts@acme.test",
        Batch(row.destination, row.kind, [row.payload], 1),
        lambda p: confirm_url(PUBLIC_URL, confirms, p),
    )
    assert mail["Bcc"] is None
    assert mail.get_content().splitlines()[0] == "Hello Pat Bcc: all@acme.test x,"


async def test_the_primary_admin_hears_of_a_registration_only_where_the_item_asks(session):
    """Seed 001: the admin notification per external enrolment is an option per item, off
    until an admin turns it on (`notify ITEM --external-email on`); tests/test_external_alerts.py
    covers it on, and the subscribed channels."""
    org, code = await _world(session)
    org.primary_admin_email = "boss@acme.test"
    await session.commit()
    await _register(session, org, code)
    rows = await session.execute(select(OutboxMessage).where(OutboxMessage.kind == "alert"))
    assert rows.all() == []
