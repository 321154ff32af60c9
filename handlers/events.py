"""Enrolment events going out: one hook, `enrolments`, called in the transaction of the change,
that writes an outbox row per event for every endpoint that wants it (webhooks, and the xAPI
Learning Record Store). Nothing is sent here; the outbox delivers once the change commits, so an
event goes out exactly when its change holds.

Call sites stay one line, whoever changes enrolments:

    await events.enrolments(session, events.ENROLMENT_COMPLETED, [enrolment.id])

An enrolment made ahead (`visible_from`, handlers.rules.schedule) is news to nobody until it is
revealed: no event about it is written while it is hidden, and the reveal (the periods job, or a
completion of it: handlers.rules.periods.reveal) writes its `enrolment.created` through
`revealed`. So an endpoint hears of it on the day it shows, once, and never of one withdrawn
before its day. (Moodle hears at once: its enrolment starts on that day, `timestart`.)

Each event is `{"type", "timestamp", "data"}` as the Standard Webhooks specification shapes
payloads, with its own id (`msg_...`, the `webhook-id` a receiver drops duplicates by, and the
seed of the xAPI statement's id). Each lands in a lane of its own per endpoint, person and item
(`webhook:ENDPOINT:u1-i2`), so events about one enrolment arrive in the order they happened and
a failing one holds up no other enrolment's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import refresh
from handlers.destinations import Destination
from handlers.moodle import queue as moodle_queue
from handlers.moodle import site as moodle_site
from store.models import (
    CatalogItem,
    EndpointKind,
    Enrolment,
    MoodleSite,
    OutboxMessage,
    User,
    WebhookEndpoint,
    utcnow,
)

ENROLMENT_CREATED = "enrolment.created"
ENROLMENT_COMPLETED = "enrolment.completed"
ENROLMENT_WITHDRAWN = "enrolment.withdrawn"
EVENT_TYPES = (ENROLMENT_CREATED, ENROLMENT_COMPLETED, ENROLMENT_WITHDRAWN)

# Whether a Moodle site or any endpoint listens, in one small statement built once: every Enrol
# click asks, and mostly nothing does.
_LISTENERS = select(
    select(MoodleSite.organisation_id).limit(1).scalar_subquery(),
    select(WebhookEndpoint.id).limit(1).scalar_subquery(),
)

# What an LRS hears: xAPI has verbs for registering and completing, none for withdrawing.
XAPI_EVENTS = (ENROLMENT_CREATED, ENROLMENT_COMPLETED)
# The outbox kinds of these rows; a channel of each name sends them (bot.webhooks, bot.xapi).
WEBHOOK = EndpointKind.WEBHOOK.value
XAPI = EndpointKind.XAPI.value
CHUNK = 500  # enrolments read per query


def subject(user_id: int, item_id: int) -> str:
    """The person and item an event is about: its lane within an endpoint."""
    return f"u{user_id}-i{item_id}"


def lane(kind: str, endpoint_id: int, user_id: int, item_id: int) -> str:
    return str(Destination.channel(kind, str(endpoint_id), subject(user_id, item_id)))


def lanes_of(kind: str, endpoint_id: int) -> str:
    """A LIKE pattern for every lane of one endpoint."""
    return f"{kind}:{endpoint_id}:%"


def wants(endpoint: WebhookEndpoint, event_type: str) -> bool:
    if endpoint.kind is EndpointKind.XAPI:
        return event_type in XAPI_EVENTS
    return event_type in endpoint.events


async def enrolments(
    session: AsyncSession,
    event_type: str,
    enrolment_ids: Iterable[int],
    *,
    now: datetime | None = None,
    extra: Mapping[int, Mapping[str, Any]] | None = None,
) -> int:
    """Write `event_type` about each enrolment to the outbox of every endpoint that wants it,
    set-based, and each new or withdrawn enrolment in an item mapped to a Moodle course to the
    Moodle site (handlers.moodle.site, handlers.moodle.queue); the caller commits. The data
    comes from the enrolment's row (its period and due date too); `extra` adds fields beyond
    it, by enrolment id. Call it after the change. Enrolments hidden until their day are left
    out of the webhooks and xAPI (see `revealed`). The number of outbox rows written (0, at the
    cost of one small query, when nothing listens)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"not an event type: {event_type}")
    ids = list(enrolment_ids)
    now = now or utcnow()
    written = 0
    await _tell_refresh(session, ids)
    moodle, endpoint = (await session.execute(_LISTENERS)).one()
    # Moodle hears of new enrolments and withdrawals in mapped items
    if moodle is not None and event_type == ENROLMENT_CREATED:
        written += await moodle_site.fan_out(session, ids, now)
    elif moodle is not None and event_type == ENROLMENT_WITHDRAWN:
        written += await moodle_queue.withdrawn(session, ids, now)
    if endpoint is None:
        return written
    return written + await _to_endpoints(session, event_type, ids, now, extra)


async def revealed(
    session: AsyncSession, enrolment_ids: Iterable[int], *, now: datetime | None = None
) -> int:
    """`enrolment.created` for enrolments made ahead that show from now (their `visible_from`
    already cleared), to the endpoints that want it; Moodle heard of them when they were made.
    The caller commits. The number of outbox rows written."""
    ids = list(enrolment_ids)
    now = now or utcnow()
    await _tell_refresh(session, ids)
    return await _to_endpoints(session, ENROLMENT_CREATED, ids, now, None)


async def _to_endpoints(
    session: AsyncSession,
    event_type: str,
    ids: list[int],
    now: datetime,
    extra: Mapping[int, Mapping[str, Any]] | None,
) -> int:
    """The outbox rows of `event_type` about the shown ones of these enrolments, for every
    webhook and xAPI endpoint that wants it."""
    endpoints = [
        e
        for e in (await session.execute(select(WebhookEndpoint))).scalars()
        if wants(e, event_type)
    ]
    if not endpoints or not ids:
        return 0
    written = 0
    for start in range(0, len(ids), CHUNK):
        rows = await _enrolment_rows(session, ids[start : start + CHUNK])
        messages = [
            message
            for row in rows
            for message in _messages(endpoints, event_type, row, now, (extra or {}).get(row.id))
        ]
        if messages:
            await session.execute(insert(OutboxMessage), messages)
            written += len(messages)
    return written


async def _tell_refresh(session: AsyncSession, ids: list[int]) -> None:
    """Queue the Home tabs of the people whose My learning changed (handlers.refresh)."""
    if ids:
        await refresh.changed_enrolments(session, ids)


async def _enrolment_rows(session: AsyncSession, ids: list[int]) -> list:
    return list(
        await session.execute(
            select(
                Enrolment.id,
                Enrolment.user_id,
                Enrolment.item_id,
                Enrolment.source,
                Enrolment.status,
                Enrolment.period,
                Enrolment.due_at,
                Enrolment.completed_at,
                Enrolment.score,
                User.email,
                CatalogItem.organisation_id,
                CatalogItem.slug,
                CatalogItem.title,
                CatalogItem.url,
            )
            .join(User, User.id == Enrolment.user_id)
            .join(CatalogItem, CatalogItem.id == Enrolment.item_id)
            # Not one made ahead and not revealed yet: nobody hears of it before it shows.
            .where(Enrolment.id.in_(ids), Enrolment.visible_from.is_(None))
            .order_by(Enrolment.id)
        )
    )


def _messages(
    endpoints: list[WebhookEndpoint],
    event_type: str,
    row: Any,
    now: datetime,
    extra: Mapping[str, Any] | None,
) -> list[dict[str, Any]]:
    event = event_payload(event_type, row, now, extra)
    return [
        {
            "organisation_id": row.organisation_id,
            "kind": endpoint.kind.value,
            "destination": lane(endpoint.kind.value, endpoint.id, row.user_id, row.item_id),
            "payload": event,
            "not_before": now,
            "attempts": 0,
            "created_at": now,
        }
        for endpoint in endpoints
        if endpoint.organisation_id == row.organisation_id
    ]


def event_payload(
    event_type: str, row: Any, now: datetime, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One event as every endpoint gets it; `id` travels in the webhook-id header."""
    data: dict[str, Any] = {
        "enrolment_id": row.id,
        "status": str(row.status),
        "person": {"id": row.user_id, "email": row.email},
        "item": {"slug": row.slug, "title": row.title, "url": row.url},
        "source": str(row.source),
        "period": row.period,
        "due": _iso(row.due_at),
    }
    if event_type == ENROLMENT_COMPLETED:
        data |= {"completed_at": _iso(row.completed_at), "score": row.score}
    data.update(extra or {})
    return {
        "id": new_message_id(),
        "type": event_type,
        "timestamp": _iso(now),
        "data": data,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"
