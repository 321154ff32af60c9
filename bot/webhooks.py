"""The outbox's channel to webhook endpoints (and, through the same endpoint bookkeeping, to the
xAPI LRS: bot/xapi.py): each event is POSTed alone, signed as the Standard Webhooks
specification says with the `standardwebhooks` package.

- `webhook-id` is the event's id, the same on every retry, so a receiver drops duplicates by it;
  `webhook-timestamp` is when this attempt was made (receivers refuse stale ones), and
  `webhook-signature` is `v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the secret.
- Before each POST the endpoint's address is checked again (handlers/webhook_address.py): a name
  that now resolves inside a network is not sent to, and the attempt is recorded as failed with
  why. Redirects are never followed, so a receiver cannot send the POST elsewhere either.
- Any 2xx is delivered; anything else, a refused connection or no answer within the timeout is
  retried by the outbox with growing pauses (handlers/outbox.py), for as long as it takes, in
  order per person and item (one lane each).
- An endpoint whose deliveries have all failed for `pause_after` is paused and the admins are told
  once (handlers.webhooks.record_attempt); its events wait until `enrolbot webhook resume`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from bot.settings import Settings
from handlers import webhook_address, webhooks
from handlers.events import new_message_id
from handlers.outbox import Batch, Channel, Result, SendOutcome
from handlers.sealing import SealError
from handlers.webhook_address import AddressRules
from store.models import EndpointState, WebhookEndpoint, utcnow

log = logging.getLogger(__name__)

PAUSED_RECHECK_SECONDS = 3600.0  # a paused endpoint's lanes look again this often
USER_AGENT = "enrolbot-webhooks/1"
TEST_EVENT = "webhook.test"


@dataclass(frozen=True)
class Answer:
    """What a receiver said to one POST: its status and the start of its body, or the error."""

    status: int | None
    text: str = ""
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def reason(self) -> str:
        if self.error:
            return self.error
        return f"HTTP {self.status}: {self.text[:200]}".rstrip(": ")


def body_of(event: dict[str, Any]) -> str:
    """The signed body: the event without its id, which travels in webhook-id."""
    shown = {k: event[k] for k in ("type", "timestamp", "data") if k in event}
    return json.dumps(shown, separators=(",", ":"), ensure_ascii=False)


def signed_headers(secret: str, message_id: str, body: str, when: datetime) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, when, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


async def post(http: httpx.AsyncClient, url: str, seconds: float, **request: Any) -> Answer:
    """One POST, its outcome as an Answer whatever happens on the way."""
    try:
        response = await http.post(url, timeout=seconds, follow_redirects=False, **request)
    except httpx.TimeoutException:
        return Answer(None, error=f"no answer within {seconds:g}s")
    except httpx.HTTPError as exc:
        return Answer(None, error=f"could not reach it ({type(exc).__name__})")
    return Answer(response.status_code, response.text[:500], retry_after=_retry_after(response))


def _retry_after(response: httpx.Response) -> float | None:
    if response.status_code not in (429, 503):
        return None
    try:
        return max(float(response.headers.get("retry-after", "")), 1.0)
    except ValueError:
        return None


Poster = Callable[[WebhookEndpoint, dict[str, Any]], Awaitable[tuple[Answer, SendOutcome]]]


@dataclass
class EndpointChannel:
    """Sends one event at a time to the endpoint its lane names, and keeps the endpoint's
    record of how deliveries are going."""

    sessions: async_sessionmaker[AsyncSession]
    poster: Poster
    pause_after: timedelta
    bootstrap_admins: frozenset[str] = frozenset()
    clock: Callable[[], datetime] = field(default=utcnow)

    async def send(self, batch: Batch) -> SendOutcome:
        endpoint_id = int(batch.to.tenant)
        async with self.sessions() as session:
            endpoint = await session.get(WebhookEndpoint, endpoint_id)
            if endpoint is not None:
                session.expunge(endpoint)
        if endpoint is None:
            return SendOutcome(Result.FAILED, "the endpoint was removed")
        if endpoint.state is EndpointState.PAUSED:
            return SendOutcome(Result.RETRY, "the endpoint is paused", PAUSED_RECHECK_SECONDS)
        answer, outcome = await self.poster(endpoint, batch.payloads[0])
        await self._record(endpoint_id, answer)
        return outcome

    async def _record(self, endpoint_id: int, answer: Answer) -> None:
        async with self.sessions() as session, session.begin():
            endpoint = await session.get(WebhookEndpoint, endpoint_id)
            if endpoint is None:
                return
            paused = await webhooks.record_attempt(
                session,
                endpoint,
                ok=answer.ok,
                status=answer.status,
                error=None if answer.ok else answer.reason(),
                now=self.clock(),
                pause_after=self.pause_after,
                bootstrap_admins=self.bootstrap_admins,
            )
        if paused:
            log.error(
                "endpoint %d paused: its deliveries failed for %s", endpoint_id, self.pause_after
            )


@dataclass
class WebhookPoster:
    http: httpx.AsyncClient
    timeout: float
    keys: Sequence[str]  # ENROLBOT_SECRET_KEY, which opens the sealed signing secrets
    rules: AddressRules

    async def __call__(
        self, endpoint: WebhookEndpoint, event: dict[str, Any]
    ) -> tuple[Answer, SendOutcome]:
        body = body_of(event)
        signed = await _signed(endpoint, self.keys, self.rules, event["id"], datetime.now(UTC))
        if isinstance(signed, Answer):
            return signed, SendOutcome(Result.RETRY, signed.reason())
        headers = signed(body)
        answer = await post(
            self.http, endpoint.url, self.timeout, content=body.encode(), headers=headers
        )
        if answer.ok:
            return answer, SendOutcome.sent()
        return answer, SendOutcome(Result.RETRY, answer.reason(), answer.retry_after)


async def _signed(
    endpoint: WebhookEndpoint,
    keys: Sequence[str],
    rules: AddressRules,
    message_id: str,
    when: datetime,
) -> Callable[[str], dict[str, str]] | Answer:
    """How to sign a body for the endpoint now; or, when it must not be sent (its address is
    inside a network now, or no key opens its secret), the Answer saying why, sent nowhere."""
    refused = await webhook_address.refusal(endpoint.url, rules)
    if refused:
        return Answer(None, error=f"not sent: {refused}")
    try:
        secret = webhooks.signing_secret(endpoint, keys)
    except SealError as exc:
        return Answer(None, error=f"not sent: {exc}")
    return lambda body: signed_headers(secret, message_id, body, when)


def address_rules(settings: Settings) -> AddressRules:
    """Where ENROLBOT_WEBHOOK_ALLOW_PRIVATE lets webhooks go."""
    return AddressRules(allow_private=settings.webhook_allow_private)


def webhook_channel(
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    *,
    timeout: float,
    pause_after: timedelta,
    keys: Sequence[str],
    rules: AddressRules,
    bootstrap_admins: frozenset[str] = frozenset(),
    clock: Callable[[], datetime] = utcnow,
) -> Channel:
    """The outbox channel for `webhook:` lanes: one event per send, timing out on its own."""
    poster = WebhookPoster(http, timeout, keys, rules)
    sender = EndpointChannel(sessions, poster, pause_after, bootstrap_admins, clock)
    # A little over the address check and the request's own timeouts, so the clearer error of
    # either is the one recorded.
    return Channel(sender.send, max_batch=1, timeout=rules.seconds + timeout + 1)


async def send_test(
    http: httpx.AsyncClient,
    endpoint: WebhookEndpoint,
    seconds: float,
    *,
    keys: Sequence[str],
    rules: AddressRules,
) -> Answer:
    """A `webhook.test` event to the endpoint now, signed like every other; the receiver's
    answer. Not kept in the outbox: it is for the admin watching."""
    now = datetime.now(UTC)
    event = {
        "id": new_message_id(),
        "type": TEST_EVENT,
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": {"endpoint_id": endpoint.id, "url": endpoint.url},
    }
    body = body_of(event)
    signed = await _signed(endpoint, keys, rules, event["id"], now)
    if isinstance(signed, Answer):
        return signed
    return await post(http, endpoint.url, seconds, content=body.encode(), headers=signed(body))
