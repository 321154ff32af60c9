"""Button clicks: Enrol (learners; a registration button's guests get the registration modal),
and the confirm/cancel of a link's or a registration token's deletion (admins)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import metrics, my_learning
from bot.slack import blocks, register_blocks, registration
from bot.slack.adapter import Caller, Slack, render
from bot.slack.middleware import CommandContextOpener, sender_of
from bot.slack.my_learning_blocks import UNMUTE_ACTION
from handlers import commands
from handlers.clicks import Click
from handlers.identity import ProfileLookup
from handlers.registration import REGISTER_INSTEAD
from handlers.reminders import words
from handlers.reminders.mutes import mute_pressed
from handlers.reminders.team import nudge
from handlers.replies import (
    SOMETHING_WENT_WRONG,
    Notice,
    Reply,
    Tone,
    click_reply,
    kept_link,
    kept_token,
)
from store.models import utcnow

# A command's answer to a Delete press, and a Bolt listener (its arguments injected by name).
ConfirmDelete = Callable[[Any, str], Awaitable[Any]]
Listener = Callable[..., Awaitable[None]]

log = logging.getLogger(__name__)


async def decide(slack: Slack, click: Click, lookup: ProfileLookup) -> Notice:
    """Enrol the clicking person: the answer to show them, whatever happened."""
    account = click.account
    try:
        result = await slack.runtime.enrol(account, click.token, lookup, channel=click.channel)
    except Exception:
        log.exception("enrol click failed (user %s)", account.subject)
        metrics.CLICKS.labels("slack", "error").inc()
        return SOMETHING_WENT_WRONG
    metrics.CLICKS.labels("slack", result.outcome.value).inc()
    return click_reply(result)


async def finish(slack: Slack, click: Click) -> None:
    """A click acknowledged before a restart: enrol, and answer while the response_url lasts."""
    home = await slack.pin.get()
    lookup = slack.directory.lookup(click.account.subject, home, click.home_tenant, click.home_org)
    reply = await decide(slack, click, lookup)
    if click.reply_to:
        await slack.answer(click.reply_to, reply)


def register(app: AsyncApp) -> None:
    app.action(blocks.ENROL_ACTION)(enrol_clicked)
    app.action(blocks.ENROL_REGISTER_ACTION)(enrol_register_clicked)
    app.action(register_blocks.OPEN_ITEM_ACTION)(item_opened)
    app.action(UNMUTE_ACTION)(unmute_pressed)
    app.action(blocks.DELETE_CONFIRM_ACTION)(delete_confirmed)
    app.action(blocks.DELETE_CANCEL_ACTION)(delete_cancelled)
    app.action(blocks.TOKEN_DELETE_CONFIRM_ACTION)(token_delete_confirmed)
    app.action(blocks.TOKEN_DELETE_CANCEL_ACTION)(token_delete_cancelled)
    app.action(re.compile(rf"^{words.MUTE_ACTION}_"))(reminder_muted)
    app.action(re.compile(rf"^{words.NUDGE_ACTION}_"))(report_nudged)
    app.action(re.compile(r"^open_item_\d+$"))(item_opened)  # a reminder's link to the item


def _value(body: dict, default: str = "") -> str:
    return (body.get("actions") or [{}])[0].get("value") or default


def _on_home(body: dict) -> bool:
    """A button on the app's Home tab: it has no response_url; the tab is its answer."""
    return (body.get("view") or {}).get("type") == "home"


async def enrol_clicked(ack: AsyncAck, body: dict, slack: Slack, caller: Caller) -> None:
    started = time.perf_counter()
    sender = sender_of(body)
    on_home = _on_home(body)
    click = Click(
        caller.account,
        _value(body),
        "" if on_home else body["response_url"],
        (body.get("channel") or {}).get("id"),
        sender.team_id if sender else None,
        sender.enterprise_id if sender else None,
    )

    async def answer(reply: Notice) -> None:
        metrics.CLICK_SECONDS.observe(time.perf_counter() - started)
        if on_home:  # the same click, answered on the tab above the list it changed
            await slack.home.publish(caller.account.subject, reply.text)
        else:
            await slack.answer(click.reply_to, reply)

    # Acknowledged once decided, or, past the budget, once written down (bot.clicks).
    await slack.runtime.clicks.handle(
        click, ack, lambda: decide(slack, click, caller.lookup), answer
    )


async def enrol_register_clicked(ack: AsyncAck, body: dict, slack: Slack, caller: Caller) -> None:
    """An Enrol button posted with a token: members enrol through its link as with any button;
    a guest, someone from another organisation or a prospect gets the registration modal."""
    started = time.perf_counter()
    sender = sender_of(body)
    token, signed = blocks.registration_value(_value(body))
    click = Click(
        caller.account,
        token,
        body["response_url"],
        (body.get("channel") or {}).get("id"),
        sender.team_id if sender else None,
        sender.enterprise_id if sender else None,
    )

    async def decide_or_offer() -> Notice | None:
        try:
            result = await slack.runtime.enrol(
                caller.account, token, caller.lookup, channel=click.channel
            )
        except Exception:
            log.exception("enrol click failed (user %s)", caller.account.subject)
            metrics.CLICKS.labels("slack", "error").inc()
            return SOMETHING_WENT_WRONG
        metrics.CLICKS.labels("slack", result.outcome.value).inc()
        if result.outcome not in REGISTER_INSTEAD:
            return click_reply(result)
        try:
            return await registration.offer(
                slack, body.get("trigger_id"), signed, caller, click.channel
            )
        except Exception:
            log.exception("registration offer failed (user %s)", caller.account.subject)
            return SOMETHING_WENT_WRONG

    async def answer(reply: Notice | None) -> None:
        metrics.CLICK_SECONDS.observe(time.perf_counter() - started)
        if reply is not None:  # None: the modal is open
            await slack.answer(click.reply_to, reply)

    await slack.runtime.clicks.handle(click, ack, decide_or_offer, answer)


async def unmute_pressed(ack: AsyncAck, body: dict, slack: Slack, caller: Caller) -> None:
    """My learning's Unmute button (the Home tab, or the `my learning` message)."""
    await ack()
    try:
        said = await my_learning.unmute(slack.runtime, caller.account, caller.lookup, _value(body))
        if _on_home(body):
            await slack.home.publish(caller.account.subject, said)
        else:
            await slack.answer(body["response_url"], Notice(said, Tone.SUCCESS))
    except Exception:
        log.exception("unmute failed (user %s)", caller.account.subject)


async def item_opened(ack: AsyncAck) -> None:
    """The registration modal's link to the item: Slack opens the URL; nothing to do here."""
    await ack()


def _delete_confirmed(confirm: ConfirmDelete, what: str) -> Listener:
    """The Delete button of a link's or a token's "are you sure?" question."""

    async def confirmed(
        ack: AsyncAck,
        body: dict,
        slack: Slack,
        caller: Caller,
        command_context: CommandContextOpener,
    ) -> None:
        await ack()
        try:
            async with command_context() as ctx:
                reply = await confirm(ctx, _value(body))
        except Exception:
            log.exception("%s deletion failed (user %s)", what, caller.account.subject)
            reply = SOMETHING_WENT_WRONG
        await _answered(slack, body, reply)

    return confirmed


delete_confirmed = _delete_confirmed(commands.confirm_link_delete, "link")
token_delete_confirmed = _delete_confirmed(commands.confirm_token_delete, "token")


async def token_delete_cancelled(ack: AsyncAck, body: dict, slack: Slack) -> None:
    await ack()
    await _answered(slack, body, kept_token(_value(body, "?")))


async def reminder_muted(
    ack: AsyncAck, body: dict, slack: Slack, caller: Caller, command_context: CommandContextOpener
) -> None:
    """A reminder's Mute button: muted for whoever pressed it, answered to them alone."""
    await ack()
    try:
        async with command_context() as ctx:
            reply = await mute_pressed(ctx.session, ctx.caller.user, _value(body))
    except Exception:
        log.exception("muting reminders failed (user %s)", caller.account.subject)
        reply = SOMETHING_WENT_WRONG
    message = render(reply)
    message["response_type"] = "ephemeral"
    message["replace_original"] = False
    await slack.replies.send(body["response_url"], message)


async def report_nudged(
    ack: AsyncAck, body: dict, slack: Slack, caller: Caller, command_context: CommandContextOpener
) -> None:
    """A weekly summary's Nudge: the report reminded (once a day), the manager told."""
    await ack()
    try:
        async with command_context() as ctx:
            reply = await nudge(ctx.session, ctx.caller.user, _value(body), utcnow())
    except Exception:
        log.exception("a nudge failed (user %s)", caller.account.subject)
        reply = SOMETHING_WENT_WRONG
    message = render(reply)
    message["response_type"] = "ephemeral"
    message["replace_original"] = False
    await slack.replies.send(body["response_url"], message)


async def _answered(slack: Slack, body: dict, reply: Reply) -> None:
    message = render(reply)
    message["replace_original"] = True  # the question is answered: replace it
    await slack.replies.send(body["response_url"], message)


async def delete_cancelled(ack: AsyncAck, body: dict, slack: Slack) -> None:
    await ack()
    message = blocks.notice(kept_link(_value(body, "?")))
    message["replace_original"] = True
    await slack.replies.send(body["response_url"], message)
