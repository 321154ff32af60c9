"""handlers.registration in process: who becomes what, which invitations are written, and that
an invitation outlives a mail server that is down (it waits in the outbox, written with the
enrolment, and goes once the server answers)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select, update

from bot.email import EmailDelivery, SmtpSettings, build
from handlers import registration_text as text
from handlers import tokens
from handlers.enrol import Outcome
from handlers.outbox import Batch, Channel, Delivery
from handlers.registration import (
    Applicant,
    Confirmed,
    ConfirmSigner,
    Registered,
    Registration,
    confirm,
    confirm_url,
    register,
)
from handlers.signing import LinkSigner
from store.models import (
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    OutboxMessage,
    OutboxStatus,
    RegistrationToken,
    User,
    UserStatus,
    UserType,
    utcnow,
)
from tests.support import factories
from tests.support.processes import free_port
from tests.support.smtp import smtp_server

SIGNER = LinkSigner(["registration-test-key-0123456789abcdef"])
PUBLIC_URL = "https://learn.acme.test"
CONFIRMS = ConfirmSigner(SIGNER.keys)


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


async def _enrolments(session, user_id: int) -> list[tuple]:
    rows = await session.execute(
        select(Enrolment.source, Enrolment.status).where(Enrolment.user_id == user_id)
    )
    return [tuple(r) for r in rows]


async def _link_of(session) -> str:
    """The signed part of the latest invitation's link, as the email would carry it."""
    row = (await _invitations(session))[-1]
    return confirm_url(PUBLIC_URL, CONFIRMS, row.payload).split("?t=", 1)[1]


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


async def test_an_address_with_an_account_is_never_enrolled_by_typing_it_only_emailed(session):
    """Anyone can type anyone's address on the public page: an address that has an account
    (a prospect who registered before, confirmed or not, or staff) is sent a link that enrols it
    when opened, and is told alike; its names stay as they are."""
    org, code = await _world(session)
    await _register(session, org, code)
    again = await _register(session, org, code, first_name="Someone", last_name="Else")
    assert again.outcome is Registered.LINK_SENT
    user = (await session.execute(select(User).where(User.email == "pat@example.org"))).scalar_one()
    assert (user.first_name, user.last_name, user.type) == ("Pat", "Jones", UserType.PROSPECT)
    first, second = await _invitations(session)
    assert "token_id" not in first.payload and second.payload["token_id"] > 0
    assert text.answer(again) == text.answer(
        Registration(Registered.INVITED, again.item, None, again.email)
    )

    ann = await factories.user(session, org, "ann@acme.test")
    await session.commit()
    staff = await _register(session, org, code, email="ANN@acme.test")
    assert staff.outcome is Registered.LINK_SENT and staff.email == "ann@acme.test"
    assert await _enrolments(session, ann.id) == []
    assert (await _invitations(session))[-1].payload["first_name"] == "Ann"


async def test_the_emailed_link_enrols_a_known_person_once_and_then_says_where_they_stand(
    session,
):
    org, code = await _world(session)
    ann = await factories.user(session, org, "ann@acme.test")
    await session.commit()
    await _register(session, org, code, email="ann@acme.test")
    token = await _link_of(session)
    done = await confirm(session, CONFIRMS, org, token)
    await session.commit()
    assert (done.outcome, done.enrolled) == (Confirmed.CONFIRMED, Outcome.ENROLLED)
    assert [s for s, _ in await _enrolments(session, ann.id)] == [EnrolmentSource.REGISTRATION]
    assert text.confirmation(done).sentences[1] == "You're enrolled in Safety 101."
    again = await confirm(session, CONFIRMS, org, token)
    await session.commit()
    assert again.enrolled is Outcome.ALREADY_ENROLLED
    await session.execute(
        update(Enrolment)
        .where(Enrolment.user_id == ann.id)
        .values(status=EnrolmentStatus.COMPLETED, completed_at=utcnow())
    )
    await session.commit()
    third = await confirm(session, CONFIRMS, org, token)
    await session.commit()
    assert third.enrolled is Outcome.ALREADY_COMPLETED
    assert text.confirmation(third).sentences[1] == (
        "You've already completed Safety 101. Your completion stands and nothing changed."
    )
    assert [s for _, s in await _enrolments(session, ann.id)] == [EnrolmentStatus.COMPLETED]


async def test_the_link_of_a_deactivated_account_or_a_token_switched_off_enrols_nobody(session):
    org, code = await _world(session)
    dee = await factories.user(session, org, "dee@acme.test", status=UserStatus.DEACTIVATED)
    ann = await factories.user(session, org, "ann@acme.test")
    await session.commit()
    assert (await _register(session, org, code, email="dee@acme.test")).outcome is (
        Registered.LINK_SENT
    )
    done = await confirm(session, CONFIRMS, org, await _link_of(session))
    assert done.outcome is Confirmed.DEACTIVATED
    assert await _enrolments(session, dee.id) == []

    await _register(session, org, code, email="ann@acme.test")
    link = await _link_of(session)
    token = (await session.execute(select(RegistrationToken))).scalar_one()
    tokens.set_active(token, False)
    await session.commit()
    off = await confirm(session, CONFIRMS, org, link)
    await session.commit()
    assert off.outcome is Confirmed.TOKEN_DISABLED
    assert "currently disabled" in text.confirmation(off).sentences[0]
    assert await _enrolments(session, ann.id) == []
    tokens.set_active(token, True)
    await session.commit()
    assert (await confirm(session, CONFIRMS, org, link)).enrolled is Outcome.ENROLLED


async def test_without_smtp_a_known_address_is_left_alone_and_told_as_a_new_one_is(session):
    org, code = await _world(session)
    ann = await factories.user(session, org, "ann@acme.test")
    await session.commit()
    known = await _register(session, org, code, email="ann@acme.test", can_email=False)
    assert known.outcome is Registered.UNCHECKED
    assert await _enrolments(session, ann.id) == []
    new = await _register(session, org, code, email="pat@example.org", can_email=False)
    assert new.outcome is Registered.REGISTERED
    assert text.answer(known) == text.answer(
        Registration(Registered.REGISTERED, new.item, None, "ann@acme.test")
    )
    assert await _invitations(session) == []


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
