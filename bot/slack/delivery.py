"""Sending outbox batches to Slack channels and DMs, turning Slack's answers into the outbox's
outcomes: sent; retry (with Slack's Retry-After when it gives one); the channel is gone; this
message is bad.

The client posts once per call (no retry handlers: the outbox reschedules instead) and every
call is bounded by SLACK_TIMEOUT_SECONDS. slack_sdk applies its timeout only to a session it
makes itself, so the bound is kept here, around the call, whatever session the client shares.
"""

from __future__ import annotations

import asyncio

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.alert_blocks import alert_message
from bot.slack.client import TIMEOUT_SECONDS, error_code
from bot.slack.learner_blocks import learner_message
from bot.slack.reminder_blocks import reminder_message, summary_message
from handlers.alert_message import compose
from handlers.outbox import Batch, Result, SendOutcome
from handlers.reminders.words import REMINDER, SUMMARY, compose_summary
from handlers.reminders.words import compose as compose_reminders
from handlers.rules.telling import LEARNER
from handlers.rules.telling import compose as compose_learner

# The channel, or the app's access to it, is gone: no message will get there again.
GONE = {
    "channel_not_found",
    "is_archived",
    "not_in_channel",
    "account_inactive",
    "invalid_auth",
    "token_revoked",
    "no_permission",
    "restricted_action",
    "ekm_access_denied",
    "team_access_not_granted",
    "user_not_found",
}
# This message is one Slack will never take; the next one to the same channel may well go.
BAD_MESSAGE = {
    "invalid_blocks",
    "invalid_blocks_format",
    "msg_too_long",
    "no_text",
    "too_many_attachments",
    "invalid_attachments",
    "invalid_arguments",
    "invalid_metadata_format",
    "metadata_too_large",
}

MAX_BATCH = 400  # people per message: within 50 blocks of 3,000 characters for long names


class SlackDelivery:
    def __init__(self, client: AsyncWebClient, timeout: float = TIMEOUT_SECONDS) -> None:
        self.client = client
        self.timeout = timeout

    async def send(self, batch: Batch) -> SendOutcome:
        if batch.kind == LEARNER:
            message = learner_message(compose_learner(batch.payloads, batch.total_due))
        elif batch.kind == REMINDER:
            message = reminder_message(compose_reminders(batch.payloads, batch.total_due))
        elif batch.kind == SUMMARY:
            message = summary_message(compose_summary(batch.payloads))
        else:
            message = alert_message(compose(batch.kind, batch.payloads, batch.total_due))
        try:
            async with asyncio.timeout(self.timeout):
                await self.client.chat_postMessage(channel=batch.to.target, **message)
        except SlackApiError as exc:
            return _outcome(exc)
        except TimeoutError:
            return SendOutcome(Result.RETRY, f"Slack did not answer within {self.timeout:g}s")
        except aiohttp.ClientError as exc:
            return SendOutcome(Result.RETRY, f"{type(exc).__name__} talking to Slack")
        return SendOutcome.sent()


def _outcome(exc: SlackApiError) -> SendOutcome:
    status = exc.response.status_code
    if status == 429:
        after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
        return SendOutcome(Result.RETRY, "ratelimited", float(after) if after else None)
    if status >= 500:
        return SendOutcome(Result.RETRY, f"Slack answered {status}")
    code = error_code(exc)
    if code in GONE:
        return SendOutcome(Result.FAILED, code)
    if code in BAD_MESSAGE:
        return SendOutcome(Result.REJECTED, code)
    return SendOutcome(Result.RETRY, code or f"HTTP {status}")
