"""Sending outbox batches to Slack channels and DMs, turning Slack's answers into the outbox's
three outcomes: sent, retry (with Slack's Retry-After when it gives one), failed for good."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import blocks
from bot.slack.client import error_code
from handlers.outbox import Batch, Result, SendOutcome

# Errors no retry can mend: the channel or the app's access to it is gone, or the message is
# one Slack will never take.
PERMANENT = {
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
    "invalid_blocks",
    "msg_too_long",
    "user_not_found",
}

MAX_BATCH = 400  # people per message: within 50 blocks of 3,000 characters for long names


class SlackDelivery:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def send(self, batch: Batch) -> SendOutcome:
        _, _, channel = batch.destination.split(":", 2)
        message = blocks.alert_message(batch.kind, batch.payloads, batch.total_due)
        try:
            await self.client.chat_postMessage(channel=channel, **message)
        except SlackApiError as exc:
            code = error_code(exc)
            if exc.response.status_code == 429:
                after = exc.response.headers.get("Retry-After") or exc.response.headers.get(
                    "retry-after"
                )
                return SendOutcome(Result.RETRY, "ratelimited", float(after) if after else None)
            if exc.response.status_code >= 500:
                return SendOutcome(Result.RETRY, f"Slack answered {exc.response.status_code}")
            if code in PERMANENT:
                return SendOutcome(Result.FAILED, code)
            return SendOutcome(Result.RETRY, code or f"HTTP {exc.response.status_code}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            return SendOutcome(Result.RETRY, f"{type(exc).__name__} talking to Slack")
        return SendOutcome.sent()
