"""notify: self-enrolment alerts for an item or all, where the command is typed or by email, and
how each platform's reply names the place."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.commands import run
from handlers.replies import Notice, Tone
from store.models import DigestMode, NotificationSubscription
from tests.support.command_world import BOSS, TEAM, Acme, error, new_audit


async def subscriptions(acme: Acme) -> list[tuple]:
    await acme.session.commit()
    async with acme.sessions() as s:
        rows = await s.execute(
            select(
                NotificationSubscription.item_id,
                NotificationSubscription.provider,
                NotificationSubscription.tenant_key,
                NotificationSubscription.channel_id,
                NotificationSubscription.channel_name,
                NotificationSubscription.email,
                NotificationSubscription.mode,
            ).order_by(NotificationSubscription.id)
        )
        return [tuple(row) for row in rows]


async def test_a_teams_personal_chat_is_called_this_chat_with_a_capital(acme):
    ctx = await acme.ctx(
        BOSS, prefix="enrol", channels_by_name=False, personal=True, channel_id="a:dm-1"
    )
    assert await run(ctx, "notify safety-101") == Notice(
        "This chat now gets instant alerts when people enrol themselves in Safety 101.",
        Tone.SUCCESS,
    )
    assert await run(ctx, "notify safety-101") == Notice(
        "This chat already gets instant alerts for Safety 101; nothing changed."
    )
    assert await subscriptions(acme) == [
        (acme.safety.id, "slack", TEAM, "a:dm-1", None, None, DigestMode.INSTANT)
    ]
    assert await run(ctx, "notify safety-101 --off") == Notice(
        "This chat no longer gets self-enrolment alerts for Safety 101.", Tone.SUCCESS
    )
    assert await run(ctx, "notify") == Notice(
        "This chat gets no self-enrolment alerts. `enrol notify ITEM|all` subscribes it."
    )


async def test_a_teams_channel_with_no_name_is_this_channel_with_a_capital(acme):
    ctx = await acme.ctx(BOSS, prefix="enrol", channels_by_name=False, channel_id="19:ops")
    assert await run(ctx, "notify all --digest hourly") == Notice(
        "This channel now gets an hourly digest when people enrol themselves in every item.",
        Tone.SUCCESS,
    )


async def test_teams_cannot_name_another_channel_and_nothing_is_subscribed(acme):
    ctx = await acme.ctx(BOSS, prefix="enrol", channels_by_name=False, channel_id="19:ops")
    before = await acme.db()
    assert error(await run(ctx, "notify all <#C0OPS|ops>")) == (
        "In Teams, send `enrol notify ITEM|all` in the channel or chat where the alerts should "
        "arrive."
    )
    assert error(await run(ctx, "notify all --digest weekly")) == (
        "--digest takes hourly or daily: "
        "`enrol notify ITEM|all [--off] [--digest hourly|daily] [--email EMAIL] "
        "[--external-email on|off] [--stakeholder EMAIL]`."
    )
    assert await subscriptions(acme) == []
    assert new_audit(before, await acme.db()) == []


async def test_a_slack_channel_picked_by_name_is_subscribed_and_audited(acme):
    ctx = await acme.ctx(BOSS, channel_id="C0HERE", channel_name="general")
    before = await acme.db()
    assert await run(ctx, "notify gdpr-basics <#C0OPS|ops> --digest daily") == Notice(
        "#ops now gets a daily digest when people enrol themselves in GDPR basics.", Tone.SUCCESS
    )
    assert await run(ctx, "notify all --email HR@Example.com") == Notice(
        "hr@example.com now gets instant alerts when people enrol themselves in every item.",
        Tone.SUCCESS,
    )
    assert await subscriptions(acme) == [
        (acme.gdpr.id, "slack", TEAM, "C0OPS", "ops", None, DigestMode.DAILY),
        (None, None, None, None, None, "hr@example.com", DigestMode.INSTANT),
    ]
    after = await acme.db()
    assert [(r[0], r[3], r[5]) for r in new_audit(before, after)] == [
        ("notify.on", acme.gdpr.id, {"destination": "#ops", "mode": "daily"}),
        ("notify.on", None, {"destination": "hr@example.com", "mode": "instant"}),
    ]
    assert await run(ctx, "notify") == Notice(
        "Self-enrolment alerts:", lines=("every item · instant alerts to hr@example.com",)
    )


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        (
            "notify all --email '`[Reset](https://evil.example)`'",
            "`Reset(https://evil.example)` isn't an email address.",
        ),
        (
            "notify all '[Reset](https://evil.example)'",
            "`Reset(https://evil.example)` isn't a channel I can find: pick it from the # "
            "suggestions as you type.",
        ),
    ],
)
async def test_words_echoed_by_notify_cannot_form_markup(acme, text, answer):
    ctx = await acme.ctx(BOSS, channel_id="C0HERE")
    assert error(await run(ctx, text)) == answer


async def test_external_enrolment_emails_are_an_option_per_item_with_stakeholders(acme):
    """Seed 001: an optional admin notification for each external enrolment, to the primary
    admin's email plus nominated stakeholders."""
    acme.org.primary_admin_email = "head@example.com"
    ctx = await acme.ctx(BOSS, channel_id="C0OPS", channel_name="ops")
    turn_on = "`/enrol notify safety-101 --external-email on`"
    assert await run(ctx, "notify safety-101 --stakeholder Sales@Example.com,ops@example.com") == (
        Notice(
            "External enrolments in Safety 101 are not emailed to anyone (channels subscribed "
            f"with notify still hear of them); {turn_on} sends an email for each. Stakeholders "
            "kept for then: sales@example.com, ops@example.com.",
            Tone.SUCCESS,
        )
    )
    assert await run(ctx, "notify safety-101 --external-email on") == Notice(
        "Each external enrolment in Safety 101 is emailed to head@example.com (primary admin), "
        "sales@example.com, ops@example.com.",
        Tone.SUCCESS,
    )
    assert (await run(ctx, "notify safety-101 --external-email ON")).text.startswith(
        "Nothing changed. Each external enrolment in Safety 101 is emailed to"
    )
    assert await run(ctx, "notify safety-101 --stakeholder ops@example.com --off") == Notice(
        "Each external enrolment in Safety 101 is emailed to head@example.com (primary admin), "
        "sales@example.com.",
        Tone.SUCCESS,
    )
    await run(ctx, "notify gdpr-basics <#C0OPS|ops>")
    listed = await run(ctx, "notify")
    assert listed.lines[-1] == (
        "Safety 101 · an email for each external enrolment to head@example.com, sales@example.com"
    )
    # No channel was subscribed by any of it.
    assert [row[0] for row in await subscriptions(acme)] == [acme.gdpr.id]
    assert (await run(ctx, "notify safety-101 --external-email off")).text.startswith(
        "External enrolments in Safety 101 are not emailed to anyone"
    )


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("notify all --external-email on", "Emails about external enrolments are set per item"),
        ("notify safety-101 --external-email maybe", "--external-email takes on or off"),
        ("notify safety-101 --stakeholder nobody", "`nobody` isn't an email address."),
        ("notify safety-101 --external-email on --off", "Say --external-email off to stop"),
        (
            "notify safety-101 --external-email on --email hr@example.com",
            "--external-email and --stakeholder go with an item alone",
        ),
    ],
)
async def test_external_email_mistakes_say_how_to_fix_them(acme, text, answer):
    ctx = await acme.ctx(BOSS, channel_id="C0OPS", channel_name="ops")
    assert error(await run(ctx, text)).startswith(answer)


async def test_only_admins_set_external_enrolment_emails(acme):
    ctx = await acme.ctx("ann@example.com", channel_id="C0OPS", channel_name="ops")
    assert "Only enrolment admins" in error(await run(ctx, "notify safety-101 --external-email on"))


async def test_with_nobody_to_email_the_option_says_how_to_add_someone(acme):
    ctx = await acme.ctx(BOSS, channel_id="C0OPS", channel_name="ops")
    reply = await run(ctx, "notify safety-101 --external-email on")
    assert reply.text == (
        "Emails for external enrolments in Safety 101 are on, but there's nobody to send them "
        "to: add one with `/enrol notify safety-101 --stakeholder EMAIL`, or set the primary "
        "admin's email (`enrolbot org set --primary-admin-email EMAIL`)."
    )
