"""External enrolments (an outsider registering with a self-registration token) reach the same
subscriptions as self-enrolments, worded once and marked external; the primary admin hears of
them only where the item's option says so."""

from __future__ import annotations

from sqlalchemy import select

from bot.email import EmailDelivery, SmtpSettings, build
from bot.slack.alert_blocks import alert_message
from handlers import tokens
from handlers.alert_message import compose
from handlers.alert_message import plain as plain_text
from handlers.enrol import Outcome
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
from handlers.subscriptions import Where, set_external_email, subscribe
from store.models import DigestMode, OutboxMessage
from tests.support import factories
from tests.support.smtp import smtp_server

SIGNER = LinkSigner(["external-alerts-test-key-0123456789ab"])


async def _world(session, nickname: str | None = "Spring fair"):
    org = await factories.organisation(session, name="Acme", primary_admin_email="head@acme.test")
    item = await factories.item(session, org, "safety-101", title="Safety 101")
    admin = await factories.user(session, org, "admin@acme.test")
    token, code = await tokens.create_token(
        session, SIGNER, item, nickname=nickname, created_by_user_id=None
    )
    await subscribe(
        session,
        org.id,
        item.id,
        Where("slack", "T0ACME", "C0OPS"),
        mode=DigestMode.INSTANT,
        channel_name="ops",
        created_by_user_id=admin.id,
        admin_destination=None,
    )
    await session.commit()
    return org, item, token, code


async def _register(session, org, code, email="pat@example.org"):
    fields = {"first_name": "Pat", "last_name": "Jones", "email": email, "token": code}
    result = await register(
        session, signer=SIGNER, organisation=org, applicant=Applicant.of(fields), can_email=True
    )
    await session.commit()
    return result


async def _alerts(session) -> list[OutboxMessage]:
    rows = await session.execute(
        select(OutboxMessage).where(OutboxMessage.kind == "alert").order_by(OutboxMessage.id)
    )
    return list(rows.scalars())


async def test_a_registration_alerts_the_subscribed_channel_marked_external(session):
    org, _, token, code = await _world(session)
    assert (await _register(session, org, code)).outcome is Registered.INVITED
    (row,) = await _alerts(session)  # the channel's; the primary admin's option is off
    assert row.destination == "slack:T0ACME:C0OPS"
    assert row.payload["external"] is True and row.payload["token_id"] == token.id
    alert = compose("alert", [row.payload], 1)
    assert plain_text(alert.entries[0].sentence()).startswith(
        "Pat Jones (prospect) registered as an outsider and enrolled in Safety 101 with token "
        "“Spring fair” at "
    )
    assert alert.summary() == (
        "Pat Jones registered as an outsider and enrolled in Safety 101 (token “Spring fair”)."
    )
    assert alert.subject() == "1 external enrolment in Safety 101"
    message = alert_message(alert)
    assert "registered as an outsider" in message["blocks"][0]["text"]["text"]
    # Registering again enrols nobody (the address has an account now), so nothing more is said.
    assert (await _register(session, org, code)).outcome is Registered.LINK_SENT
    assert len(await _alerts(session)) == 1


async def test_a_known_person_who_opens_the_emailed_link_is_an_external_enrolment(session):
    """An address with an account is enrolled only through its email's link; then it is the
    same external enrolment, with the same alert, as a registration ever was."""
    org, _, token, code = await _world(session)
    await factories.user(session, org, "ann@acme.test", first_name="Ann", last_name="Lee")
    await session.commit()
    assert (await _register(session, org, code, "ANN@acme.test")).outcome is Registered.LINK_SENT
    assert await _alerts(session) == []
    (invite,) = (
        await session.execute(select(OutboxMessage).where(OutboxMessage.kind == "invitation"))
    ).scalars()
    confirms = ConfirmSigner(SIGNER.keys)
    link = confirm_url("https://learn.acme.test", confirms, invite.payload)
    done = await confirm(session, confirms, org, link.split("?t=", 1)[1])
    await session.commit()
    assert (done.outcome, done.enrolled) == (Confirmed.CONFIRMED, Outcome.ENROLLED)
    (row,) = await _alerts(session)
    assert row.payload["external"] is True and row.payload["token_id"] == token.id
    assert plain_text(compose("alert", [row.payload], 1).entries[0].sentence()).startswith(
        "Ann Lee (staff) registered as an outsider and enrolled in Safety 101 with token "
    )


async def test_a_token_without_a_nickname_is_named_by_its_number(session):
    org, _, token, code = await _world(session, nickname=None)
    await _register(session, org, code)
    (row,) = await _alerts(session)
    assert compose("alert", [row.payload], 1).summary().endswith(f"(token t{token.id}).")


def test_a_list_of_external_and_internal_enrolments_marks_each_line():
    internal = {
        "person": "Ann Lee",
        "email": "ann@acme.test",
        "user_type": "staff",
        "item": "Safety 101",
        "link": "default link",
        "at": "2026-11-22T10:05:00+00:00",
    }
    external = internal | {"person": "Pat Jones", "user_type": "prospect", "link": "“fair”"}
    external["external"] = True
    mixed = compose("alert", [internal, external], 2)
    assert mixed.heading == "2 self-enrolments"
    assert [e.line() for e in mixed.entries] == [
        "Ann Lee (staff · Safety 101 · default link · 10:05)",
        "Pat Jones (prospect · external · Safety 101 · token “fair” · 10:05)",
    ]
    outsiders = compose("digest:daily", [external, external], 2)
    assert outsiders.heading == "Daily digest: 2 external enrolments"
    mail = build("alerts@acme.test", Batch("email:hr@acme.test", "alert", [external], 1))
    assert mail["Subject"] == "1 external enrolment in Safety 101"
    assert "Pat Jones (prospect, ann@acme.test) registered as an outsider" in mail.get_content()


async def _deliver_email(sessions) -> list[tuple[list[str], object]]:
    """Send what the outbox holds for inboxes to a real local SMTP server; what it received."""
    with smtp_server() as inbox:
        email = EmailDelivery(SmtpSettings(inbox.url), lambda p: "u")
        await Delivery(sessions, {"email": Channel(email.send, 200)}).run_once()
        return list(inbox.messages)


async def test_with_the_items_option_on_the_primary_admin_and_stakeholders_get_an_email(
    session, sessions
):
    org, item, _, code = await _world(session)
    await set_external_email(
        session, item, on=True, add=["sales@acme.test", "head@acme.test"], by_user_id=None
    )
    await session.commit()
    await _register(session, org, code)
    got = {tuple(to): mail for to, mail in await _deliver_email(sessions)}
    assert set(got) == {("head@acme.test",), ("sales@acme.test",), ("pat@example.org",)}
    mail = got[("sales@acme.test",)]
    assert mail["Subject"] == "1 external enrolment in Safety 101"
    assert (
        "Pat Jones (prospect, pat@example.org) registered as an outsider and enrolled in Safety "
        "101 with token “Spring fair” at "
    ) in mail.get_content()


async def test_with_the_option_off_no_admin_or_stakeholder_is_emailed(session, sessions):
    org, item, _, code = await _world(session)
    await set_external_email(session, item, on=True, add=["sales@acme.test"], by_user_id=None)
    await set_external_email(session, item, on=False, by_user_id=None)
    await session.commit()
    await _register(session, org, code)
    got = [to for to, _ in await _deliver_email(sessions)]
    assert got == [["pat@example.org"]]  # the invitation alone
