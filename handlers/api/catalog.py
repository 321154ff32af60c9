"""Catalog items over the API: list, read, and upsert by slug (a platform pushes its catalog)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.api import schemas
from handlers.api.paging import Listing, page
from handlers.api.problems import ApiProblem, not_found
from handlers.catalog import create_item
from handlers.moodle import queue as moodle_queue
from store.models import CatalogItem, utcnow

log = logging.getLogger(__name__)


def item_out(item: CatalogItem) -> schemas.CatalogItem:
    return schemas.CatalogItem(
        id=item.id,
        slug=item.slug,
        title=item.title,
        kind=item.kind,
        source=item.source,
        url=item.url,
        external_ids=external_ids(item),
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


MOODLE = "moodle"  # the external id that maps an item to its Moodle course (handlers.moodle)


def external_ids(item: CatalogItem) -> dict[str, str]:
    """The item's ids elsewhere; its Moodle course from the column the connector reads, however
    it was set (here, or by `catalog import`)."""
    ids = {k: v for k, v in (item.external_ids or {}).items() if k != MOODLE}
    if item.moodle_course_id:
        ids[MOODLE] = str(item.moodle_course_id)
    return ids


def moodle_course(ids: dict[str, str]) -> int | None:
    value = ids.get(MOODLE, "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 9 or int(value) < 1:
        raise ApiProblem(
            "invalid-body",
            f"external_ids.moodle '{value[:20]}' must be the Moodle course's id, a number (the "
            "id= in the course page's address).",
        )
    return int(value)


async def list_items(listing: Listing, query: schemas.PageQuery) -> schemas.CatalogItemPage:
    statement = select(CatalogItem).where(CatalogItem.organisation_id == listing.organisation_id)
    rows, cursor = await page(
        listing,
        "catalog",
        statement,
        id_column=CatalogItem.id,
        limit=query.limit,
        cursor=query.cursor,
        filters={},
    )
    return schemas.CatalogItemPage(data=[item_out(r[0]) for r in rows], next_cursor=cursor)


async def find_item(listing: Listing, slug: str) -> CatalogItem:
    item = (
        await listing.session.execute(
            select(CatalogItem).where(
                CatalogItem.organisation_id == listing.organisation_id, CatalogItem.slug == slug
            )
        )
    ).scalar_one_or_none()
    if item is None:
        raise not_found("catalog item", slug)
    return item


async def upsert_item(
    listing: Listing, slug: str, body: schemas.CatalogItemIn
) -> tuple[bool, schemas.CatalogItem]:
    """Create the item with this slug (with its default link) or update it; whether it was new.
    The caller commits."""
    session = listing.session
    course = moodle_course(body.external_ids)
    try:
        item = await find_item(listing, slug)
    except ApiProblem:
        item = await create_item(
            session,
            listing.organisation_id,
            slug=slug,
            kind=body.kind,
            title=body.title,
            source=body.source,
            url=body.url,
        )
        item.external_ids, item.moodle_course_id = body.external_ids, course
        item.updated_at = item.created_at
        await session.flush()
        return True, item_out(item)
    if item.kind != body.kind:
        raise ApiProblem(
            "conflict",
            f"'{slug}' is already a {item.kind.value}; an item's kind cannot change "
            "(give the new one another slug).",
        )
    changed = (item.title, item.source, item.url, external_ids(item)) != (
        body.title,
        body.source,
        body.url,
        {k: v for k, v in body.external_ids.items() if k != MOODLE or course},
    )
    if changed:
        before = item.moodle_course_id
        item.title, item.source, item.url = body.title, body.source, body.url
        item.external_ids, item.moodle_course_id = body.external_ids, course
        item.updated_at = utcnow()
        await session.flush()
        if course is not None and course != before:
            await _backfill(session, item, course)
    return False, item_out(item)


async def _backfill(session: AsyncSession, item: CatalogItem, course: int) -> None:
    """The enrolments an item had before its Moodle course (or before this one) go there too;
    the old course keeps whom it has."""
    queued = await moodle_queue.backfill(session, [item.id], item.updated_at)
    if queued:
        log.info(
            "catalog item %s mapped to Moodle course %d: %d enrolments queued for it",
            item.slug,
            course,
            queued,
        )
