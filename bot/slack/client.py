"""Talking to Slack: the Web API client and `response_url` replies, both retrying what Slack
asks to be retried (connection errors, 429 with Retry-After, 5xx), over one HTTP session whose
timeout bounds every call."""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10


def _retry_handlers() -> list:
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        AsyncServerErrorRetryHandler(max_retry_count=2),
    ]


def error_code(exc: SlackApiError) -> str:
    """Slack's error code (`channel_not_found`...), or "" when the answer was not Slack's JSON."""
    data = exc.response.data
    return data.get("error", "") if isinstance(data, dict) else ""


def web_client(
    token: str, base_url: str, *, retry: bool = True, timeout: float = TIMEOUT_SECONDS
) -> AsyncWebClient:
    """A Web API client. The outbox's client does not retry by itself: it reschedules, so a
    Retry-After never holds a delivery worker."""
    return configured(AsyncWebClient(token=token), base_url, retry=retry, timeout=timeout)


def configured(
    client: AsyncWebClient, base_url: str, *, retry: bool = True, timeout: float = TIMEOUT_SECONDS
) -> AsyncWebClient:
    """Point a Web API client at `base_url` with our timeout and retries. Bolt builds its app's
    client itself (handed one, it warns whenever SLACK_BOT_TOKEN is also exported), so that
    client is set up here after the app is made."""
    if not base_url.endswith("/"):
        base_url += "/"
    client.base_url = base_url
    client.timeout = max(1, round(timeout))
    client.retry_handlers = _retry_handlers() if retry else []
    return client


class Replies:
    """Posts to the `response_url` of a command or click over one shared HTTP session."""

    def __init__(self, timeout: float = TIMEOUT_SECONDS) -> None:
        self.timeout = timeout
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        # slack_sdk applies its own timeout only to sessions it makes itself; a session handed
        # to it keeps the session's (aiohttp's default is 300 s), so the bound is set here.
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def send(self, response_url: str, message: dict) -> bool:
        client = AsyncWebhookClient(
            url=response_url,
            session=self.session,
            timeout=max(1, round(self.timeout)),
            retry_handlers=_retry_handlers(),
        )
        try:
            response = await client.send_dict(message)
        except Exception:
            log.exception("could not reply through response_url")
            return False
        if response.status_code != 200:
            log.error("response_url answered %s: %s", response.status_code, response.body[:200])
            return False
        return True
