"""Button clicks: Enrol (learners), and the confirm/cancel of a link deletion (admins)."""

from __future__ import annotations

import asyncio
import logging
import time

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from bot import metrics
from bot.slack import blocks
from bot.slack.adapter import PROVIDER, Slack, render
from handlers import commands
from handlers.identity import Account
from handlers.replies import SOMETHING_WENT_WRONG, Notice, click_reply, kept_link

log = logging.getLogger(__name__)

# Slack wants an answer within 3 seconds; leave room for the network.
ACK_BUDGET_SECONDS = 1.5


def register(app: AsyncApp, slack: Slack) -> None:
    runtime = slack.runtime

    @app.action(blocks.ENROL_ACTION)
    async def enrol_clicked(ack: AsyncAck, body: dict, context: AsyncBoltContext) -> None:
        started = time.perf_counter()
        user = body["user"]
        account = Account(PROVIDER, context.team_id, user["id"])
        token = (body.get("actions") or [{}])[0].get("value") or ""
        lookup = slack.directory.lookup(user["id"], context.team_id, user.get("team_id"))

        async def enrol() -> Notice:
            try:
                channel = (body.get("channel") or {}).get("id")
                result = await runtime.enrol(account, token, lookup, channel=channel)
            except Exception:
                log.exception("enrol click failed (user %s)", user["id"])
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

    @app.action(blocks.DELETE_CONFIRM_ACTION)
    async def delete_confirmed(ack: AsyncAck, body: dict, context: AsyncBoltContext) -> None:
        await ack()
        value = (body.get("actions") or [{}])[0].get("value") or ""
        try:
            async with runtime.transaction() as session:
                ctx = await slack.command_context(
                    session, context.team_id, body["user"]["id"], body["user"].get("team_id")
                )
                reply = await commands.confirm_link_delete(ctx, value)
        except Exception:
            log.exception("link deletion failed (user %s)", body["user"]["id"])
            reply = SOMETHING_WENT_WRONG
        message = render(reply)
        message["replace_original"] = True  # the question is answered: replace it
        await slack.replies.send(body["response_url"], message)

    @app.action(blocks.DELETE_CANCEL_ACTION)
    async def delete_cancelled(ack: AsyncAck, body: dict) -> None:
        await ack()
        value = (body.get("actions") or [{}])[0].get("value") or "?"
        message = blocks.notice(kept_link(value))
        message["replace_original"] = True
        await slack.replies.send(body["response_url"], message)
