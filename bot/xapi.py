"""The outbox's channel to the Learning Record Store of XAPI_ENDPOINT: each enrolment event is
POSTed as one xAPI statement (handlers.xapi) to `{XAPI_ENDPOINT}/statements`, with Basic auth
and `X-Experience-API-Version`. The statement's id is derived from the event's, so a retry the
LRS already stored is answered 204 (or 409) and nothing is duplicated."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.webhooks import Answer, EndpointChannel, post
from handlers import xapi
from handlers.outbox import Channel, Result, SendOutcome
from store.models import WebhookEndpoint, utcnow


@dataclass
class StatementPoster:
    http: httpx.AsyncClient
    username: str
    password: str
    public_url: str
    timeout: float

    async def __call__(
        self, endpoint: WebhookEndpoint, event: dict[str, Any]
    ) -> tuple[Answer, SendOutcome]:
        answer = await post(
            self.http,
            f"{endpoint.url.rstrip('/')}/statements",
            self.timeout,
            json=xapi.statement(event, self.public_url),
            auth=(self.username, self.password),
            headers={"X-Experience-API-Version": xapi.VERSION},
        )
        return answer, _outcome(answer)


def _outcome(answer: Answer) -> SendOutcome:
    if answer.ok or answer.status == 409:  # 409: the LRS already holds a statement of this id
        return SendOutcome.sent()
    if answer.status in (401, 403):
        return SendOutcome(
            Result.RETRY,
            f"the LRS refused XAPI_USERNAME and XAPI_PASSWORD (HTTP {answer.status}): "
            "check them and restart",
        )
    if answer.status == 400:  # a statement it will never take: retrying cannot help
        return SendOutcome(Result.REJECTED, answer.reason())
    return SendOutcome(Result.RETRY, answer.reason(), answer.retry_after)


def xapi_channel(
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    *,
    username: str,
    password: str,
    public_url: str,
    timeout: float,
    pause_after: timedelta,
    bootstrap_admins: frozenset[str] = frozenset(),
    clock: Callable[[], datetime] = utcnow,
) -> Channel:
    """The outbox channel for `xapi:` lanes: one statement per send."""
    poster = StatementPoster(http, username, password, public_url, timeout)
    sender = EndpointChannel(sessions, poster, pause_after, bootstrap_admins, clock)
    return Channel(sender.send, max_batch=1, timeout=timeout + 1)
