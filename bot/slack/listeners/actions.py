"""Button clicks: Enrol (learners), and the confirm/cancel of a link deletion (admins)."""

from __future__ import annotations

import asyncio
import logging
import time

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import metrics
from bot.slack import blocks
from bot.slack.adapter import Caller, Slack, render
from bot.slack.middleware import CommandContextOpener
from handlers import commands
from handlers.replies import SOMETHING_WENT_WRONG, Notice, click_reply, kept_link

log = logging.getLogger(__name__)

# Slack wants an answer within 3 seconds; leave room for the network.
ACK_BUDGET_SECONDS = 1.5


def register(app: AsyncApp) -> None:
    app.action(blocks.ENROL_ACTION)(enrol_clicked)
    app.action(blocks.DELETE_CONFIRM_ACTION)(delete_confirmed)
    app.action(blocks.DELETE_CANCEL_ACTION)(delete_cancelled)


def _value(body: dict, default: str = "") -> str:
    return (body.get("actions") or [{}])[0].get("value") or default


async def enrol_clicked(ack: AsyncAck, body: dict, slack: Slack, caller: Caller) -> None:
    started = time.perf_counter()
    account, lookup = caller.account, caller.lookup
    token = _value(body)

    async def enrol() -> Notice:
        try:
            channel = (body.get("channel") or {}).get("id")
            result = await slack.runtime.enrol(account, token, lookup, channel=channel)
        except Exception:
            log.exception("enrol click failed (user %s)", account.subject)
            metrics.CLICKS.labels("slack", "error").inc()
            return SOMETHING_WENT_WRONG
        metrics.CLICKS.labels("slack", result.outcome.value).inc()
        return click_reply(result)

    # Acknowledge once the enrolment is committed, so an acknowledged click is never lost;
    # if that takes long (a slow first lookup in Slack), acknowledge in time anyway.
    work = asyncio.ensure_future(enrol())
    await asyncio.wait({work}, timeout=ACK_BUDGET_SECONDS)
    await ack()
    reply = await work
    metrics.CLICK_SECONDS.observe(time.perf_counter() - started)
    await slack.answer(body["response_url"], reply)


async def delete_confirmed(
    ack: AsyncAck,
    body: dict,
    slack: Slack,
    caller: Caller,
    command_context: CommandContextOpener,
) -> None:
    await ack()
    try:
        async with command_context() as ctx:
            reply = await commands.confirm_link_delete(ctx, _value(body))
    except Exception:
        log.exception("link deletion failed (user %s)", caller.account.subject)
        reply = SOMETHING_WENT_WRONG
    message = render(reply)
    message["replace_original"] = True  # the question is answered: replace it
    await slack.replies.send(body["response_url"], message)


async def delete_cancelled(ack: AsyncAck, body: dict, slack: Slack) -> None:
    await ack()
    message = blocks.notice(kept_link(_value(body, "?")))
    message["replace_original"] = True
    await slack.replies.send(body["response_url"], message)
