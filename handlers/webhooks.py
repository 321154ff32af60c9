"""Webhook endpoints: added, to public addresses only, with a secret shown once and kept sealed
(handlers.webhook_address, handlers.sealing); listed, removed, resumed; each one's
delivery log read from its outbox rows; how its deliveries are going, and pausing one that has
failed for too long with the admins told once. The xAPI Learning Record Store of the settings is
kept here as an endpoint of its own kind, so events fan out to both the same way."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import admin_notices, sealing, webhook_address
from handlers.events import EVENT_TYPES, lanes_of
from handlers.webhook_address import AddressRules
from store.models import (
    DeliveryLane,
    EndpointKind,
    EndpointState,
    OutboxMessage,
    OutboxStatus,
    WebhookEndpoint,
)
from store.upsert import insert_ignoring_conflict

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the specification asks for 24 to 64 random bytes
LOG_ROWS = 50


class WebhookProblem(ValueError):
    """Something an admin asked for that cannot be done; the message says how to fix it."""


class AddressProblem(WebhookProblem):
    """A URL webhooks may not be sent to (handlers.webhook_address); the message says why."""


def new_secret() -> str:
    """A signing secret as the Standard Webhooks specification writes one: whsec_ + base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def parse_events(text: str) -> list[str]:
    """`a,b,...` checked against the events enrolbot sends."""
    wanted = [e.strip() for e in text.split(",") if e.strip()]
    unknown = [e for e in wanted if e not in EVENT_TYPES]
    if unknown or not wanted:
        raise WebhookProblem(
            f"Unknown event {', '.join(unknown) or '(none given)'}: choose from "
            f"{', '.join(EVENT_TYPES)}, separated by commas."
        )
    return list(dict.fromkeys(wanted))


async def check_address(url: str, rules: AddressRules) -> str:
    """`url`, trimmed, when webhooks may be sent there (handlers.webhook_address)."""
    url = url.strip()
    problem = await webhook_address.refusal(url, rules)
    if problem:
        raise AddressProblem(problem)
    return url


async def add(
    session: AsyncSession,
    organisation_id: int,
    url: str,
    events: list[str],
    by: str,
    *,
    keys: Sequence[str],
    rules: AddressRules,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret, which is shown this once; the row keeps it sealed with
    `keys` (ENROLBOT_SECRET_KEY)."""
    url = await check_address(url, rules)
    secret = new_secret()
    try:
        sealed = sealing.seal(secret, keys)
    except sealing.SealError as exc:
        raise WebhookProblem(str(exc)) from None
    values = {
        "organisation_id": organisation_id,
        "kind": EndpointKind.WEBHOOK,
        "url": url,
        "events": events,
        "secret": sealed,
        "state": EndpointState.ACTIVE,
        "created_by": by,
    }
    new_id = await insert_ignoring_conflict(session, WebhookEndpoint, values)
    if new_id is None:
        raise WebhookProblem(
            f"{url} is already an endpoint: `enrolbot webhook remove {url}` first to change it."
        )
    endpoint = await session.get(WebhookEndpoint, new_id)
    assert endpoint is not None
    return endpoint, secret


def signing_secret(endpoint: WebhookEndpoint, keys: Sequence[str]) -> str:
    """The endpoint's secret to sign with, unsealed; sealing.SealError when no key opens it."""
    assert endpoint.secret is not None
    return sealing.unseal(endpoint.secret, keys)


async def seal_secrets(session: AsyncSession, keys: Sequence[str]) -> int:
    """Seal the secrets still kept in plain text (added before sealing began), and move those
    sealed with an older key to the newest; run at every start. The number changed. A secret
    that no key opens is left as it is: its deliveries say why they fail."""
    rows = await session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.secret).where(
            WebhookEndpoint.secret.is_not(None)
        )
    )
    changed = 0
    for endpoint_id, stored in rows.all():  # a few endpoints, each sealed on its own
        try:
            fresh = sealing.reseal(stored, keys)
        except sealing.SealError:
            continue
        if fresh is not None:
            await session.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.secret == stored)
                .values(secret=fresh)
            )
            changed += 1
    return changed


async def find(session: AsyncSession, organisation_id: int, ref: str) -> WebhookEndpoint:
    """A webhook endpoint by the id `webhook list` prints, or by its URL."""
    found = await find_any(session, organisation_id, ref)
    if found.kind is not EndpointKind.WEBHOOK:
        raise WebhookProblem(
            f"Endpoint {ref} is the xAPI LRS, which XAPI_ENDPOINT sets: change it there."
        )
    return found


async def find_any(session: AsyncSession, organisation_id: int, ref: str) -> WebhookEndpoint:
    """An endpoint, the LRS included, by the id `webhook list` prints, or by its URL."""
    where = WebhookEndpoint.url == ref.strip()
    if ref.strip().isdigit():
        where = WebhookEndpoint.id == int(ref)
    found = (
        await session.execute(
            select(WebhookEndpoint).where(where, WebhookEndpoint.organisation_id == organisation_id)
        )
    ).scalar()
    if found is None:
        raise WebhookProblem(f"No webhook endpoint {ref}: `enrolbot webhook list` shows them.")
    return found


async def endpoints(session: AsyncSession, organisation_id: int) -> list[WebhookEndpoint]:
    """Every endpoint, the LRS included, oldest first."""
    rows = await session.execute(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.organisation_id == organisation_id)
        .order_by(WebhookEndpoint.id)
    )
    return list(rows.scalars())


async def remove(session: AsyncSession, endpoint: WebhookEndpoint) -> int:
    """Delete the endpoint; what still waits for it is dropped. The number dropped."""
    dropped = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.destination.like(lanes_of(endpoint.kind.value, endpoint.id)),
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.FAILED, last_error="the endpoint was removed")
    )
    await session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id))
    return dropped.rowcount or 0


async def resume(session: AsyncSession, endpoint: WebhookEndpoint, now: datetime) -> int:
    """Deliver to a paused endpoint again, starting now with what waited for it, in order.
    The number of events waiting."""
    endpoint.state, endpoint.failing_since, endpoint.paused_at = EndpointState.ACTIVE, None, None
    pattern = lanes_of(endpoint.kind.value, endpoint.id)
    waiting = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.destination.like(pattern),
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .values(not_before=now)
    )
    await session.execute(
        update(DeliveryLane).where(DeliveryLane.destination.like(pattern)).values(not_before=now)
    )
    return waiting.rowcount or 0


@dataclass(frozen=True)
class Delivery:
    """One event's delivery to one endpoint, as `webhook log` shows it."""

    outbox_id: int
    message_id: str
    event_type: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


async def deliveries(
    session: AsyncSession, endpoint: WebhookEndpoint, limit: int = LOG_ROWS
) -> list[Delivery]:
    """The endpoint's latest deliveries, newest first."""
    rows = await session.execute(
        select(OutboxMessage)
        .where(OutboxMessage.destination.like(lanes_of(endpoint.kind.value, endpoint.id)))
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    return [
        Delivery(
            m.id,
            str(m.payload.get("id", "")),
            str(m.payload.get("type", "")),
            m.status.value,
            m.attempts,
            m.last_error,
            m.created_at,
            m.sent_at,
        )
        for m in rows.scalars()
    ]


async def record_attempt(
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    *,
    ok: bool,
    status: int | None,
    error: str | None,
    now: datetime,
    pause_after: timedelta,
    bootstrap_admins: frozenset[str] = frozenset(),
) -> bool:
    """Note how a delivery went. An endpoint that has failed without one success for
    `pause_after` is paused and the admins are told, once: the conditional UPDATE lets only one
    worker do it. True when this attempt paused it."""
    endpoint.last_attempt_at, endpoint.last_status = now, status
    if ok:
        endpoint.failing_since, endpoint.last_error = None, None
        return False
    endpoint.last_error = (error or "")[:500]
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    if now - endpoint.failing_since < pause_after:
        return False
    paused = await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint.id, WebhookEndpoint.state == EndpointState.ACTIVE)
        .values(state=EndpointState.PAUSED, paused_at=now)
        .execution_options(synchronize_session="fetch")
    )
    if paused.rowcount != 1:
        return False
    await admin_notices.tell_admins(
        session,
        endpoint.organisation_id,
        paused_notice(endpoint),
        now,
        bootstrap_admins=bootstrap_admins,
    )
    return True


def paused_notice(endpoint: WebhookEndpoint) -> str:
    since = endpoint.failing_since.strftime("%Y-%m-%d %H:%M UTC") if endpoint.failing_since else ""
    what = "statements to the LRS" if endpoint.kind is EndpointKind.XAPI else "webhooks"
    fix = (
        f"check XAPI_ENDPOINT and its credentials, then run `enrolbot webhook resume {endpoint.id}`"
        if endpoint.kind is EndpointKind.XAPI
        else f"fix the receiver, then run `enrolbot webhook resume {endpoint.id}`"
    )
    return (
        f"I paused {what} to {endpoint.url}: every delivery has failed since {since} "
        f"({endpoint.last_error or 'no answer'}). Its events are kept; {fix} to send them, "
        "in order."
    )


async def sync_xapi(session: AsyncSession, organisation_id: int, url: str | None) -> None:
    """Keep the organisation's LRS endpoint equal to XAPI_ENDPOINT: made, moved, or removed
    when the setting is cleared."""
    current = (
        await session.execute(
            select(WebhookEndpoint).where(
                WebhookEndpoint.organisation_id == organisation_id,
                WebhookEndpoint.kind == EndpointKind.XAPI,
            )
        )
    ).scalar()
    if not url:
        if current is not None:
            await remove(session, current)
        return
    if current is None:
        await insert_ignoring_conflict(
            session,
            WebhookEndpoint,
            {
                "organisation_id": organisation_id,
                "kind": EndpointKind.XAPI,
                "url": url,
                "events": [],
                "state": EndpointState.ACTIVE,
                "created_by": "XAPI_ENDPOINT",
            },
        )
    elif current.url != url:
        current.url = url
