"""The site of MOODLE_URL, and new enrolments going out to it.

`fan_out` is called by handlers.events in the enrolment's own transaction: for each new
enrolment in an item mapped to a Moodle course (`catalog_item.moodle_course_id`), while a site
is set, one outbox row of kind "moodle" in a lane per person and item, which the Moodle channel
(bot/moodle/channel.py) sends with `enrol_manual_enrol_users`: at least once, retried, nothing
lost across restarts. Enrolling someone Moodle already holds changes nothing there, so a
repeated push is harmless."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.destinations import Destination
from store.models import CatalogItem, Enrolment, MoodleSite, OutboxMessage, User, utcnow
from store.upsert import insert_ignoring_conflict

KIND = "moodle"  # the outbox kind and the lanes' scheme: moodle:ORG:u7-i3
PROVIDER = "moodle"  # a person's Moodle account, as an Identity
ENROL = "enrol"  # a push's "action"; rows written before pushes had one are enrols
UNENROL = "unenrol"


def site_key(url: str) -> str:
    """The Identity tenant of a site: its host and path, so another site's ids never match."""
    parts = urlsplit(url)
    return f"{parts.hostname or ''}{parts.path.rstrip('/')}".lower()[:64]


def lane(organisation_id: int, user_id: int, item_id: int) -> str:
    return str(Destination.channel(KIND, str(organisation_id), f"u{user_id}-i{item_id}"))


async def sync_site(session: AsyncSession, organisation_id: int, url: str | None) -> bool:
    """Keep the organisation's site row equal to MOODLE_URL: made, moved, or removed (pushes
    stop) when the setting is cleared. True when the URL now names a site the row did not (set
    for the first time, set again after being cleared, or moved to another site): that site
    has been sent nothing yet."""
    current = await session.get(MoodleSite, organisation_id)
    if not url:
        if current is not None:
            await session.execute(
                delete(MoodleSite).where(MoodleSite.organisation_id == organisation_id)
            )
        return False
    if current is None:
        values = {"organisation_id": organisation_id, "url": url, "updated_at": utcnow()}
        # Workers starting together: only the one whose insert made the row says so.
        return await insert_ignoring_conflict(session, MoodleSite, values) is not None
    if current.url == url:
        return False
    moved = site_key(current.url) != site_key(url)
    current.url, current.updated_at = url, utcnow()
    return moved


async def fan_out(session: AsyncSession, enrolment_ids: Sequence[int], now: datetime) -> int:
    """An outbox row for each of these new enrolments whose item has a Moodle course, when a
    site is set; the number written. One small query when no site is."""
    sites = set((await session.execute(select(MoodleSite.organisation_id))).scalars())
    if not sites or not enrolment_ids:
        return 0
    rows = await session.execute(
        select(
            Enrolment.id,
            Enrolment.user_id,
            Enrolment.item_id,
            Enrolment.enrolled_at,
            Enrolment.visible_from,
            CatalogItem.organisation_id,
            CatalogItem.moodle_course_id,
            User.email,
        )
        .join(CatalogItem, CatalogItem.id == Enrolment.item_id)
        .join(User, User.id == Enrolment.user_id)
        .where(
            Enrolment.id.in_(list(enrolment_ids)),
            CatalogItem.moodle_course_id.is_not(None),
            CatalogItem.organisation_id.in_(sites),
        )
        .order_by(Enrolment.id)
    )
    messages = [
        {
            "organisation_id": r.organisation_id,
            "kind": KIND,
            "destination": lane(r.organisation_id, r.user_id, r.item_id),
            "payload": {
                "action": ENROL,
                "enrolment_id": r.id,
                "user_id": r.user_id,
                "email": r.email,
                "course_id": r.moodle_course_id,
                # An enrolment a rule made ahead starts in Moodle on the day it shows here.
                "timestart": int((r.visible_from or r.enrolled_at or now).timestamp()),
            },
            "not_before": now,
            "attempts": 0,
            "created_at": now,
        }
        for r in rows
    ]
    if messages:
        await session.execute(insert(OutboxMessage), messages)
    return len(messages)
