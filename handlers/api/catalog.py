"""Catalog items over the API: list, read, and upsert by slug (a platform pushes its catalog)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.api import schemas
from handlers.api.paging import Listing, page
from handlers.api.problems import ApiProblem, not_found
from handlers.catalog import SLUG, SLUG_RULE, create_item, kind_cannot_change
from handlers.moodle import queue as moodle_queue
from store.models import CatalogItem, ItemSource, utcnow

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


def merged_ids(ids: dict[str, str], changes: dict[str, str | None]) -> dict[str, str]:
    """The ids after a PUT: each key given replaces its value, or removes it when null; keys
    left out stay."""
    merged = dict(ids)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


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


async def _item(listing: Listing, slug: str) -> CatalogItem | None:
    return (
        await listing.session.execute(
            select(CatalogItem).where(
                CatalogItem.organisation_id == listing.organisation_id, CatalogItem.slug == slug
            )
        )
    ).scalar_one_or_none()


async def find_item(listing: Listing, slug: str) -> CatalogItem:
    item = await _item(listing, slug)
    if item is None:
        raise not_found("catalog item", slug)
    return item


async def upsert_item(
    listing: Listing, slug: str, body: schemas.CatalogItemIn
) -> tuple[bool, schemas.CatalogItem]:
    """Create the item with this slug (with its default link) or update what the body gives,
    keeping what it leaves out; whether it was new. The caller commits."""
    item = await _item(listing, slug)
    if item is None:
        return True, item_out(await _create(listing, slug, body))
    if body.kind is not None and body.kind != item.kind:
        raise ApiProblem("conflict", kind_cannot_change(slug, item.kind) + ".")
    given = body.model_fields_set
    ids = merged_ids(external_ids(item), body.external_ids or {})
    course = moodle_course(ids)
    after = (
        body.title if body.title is not None else item.title,
        body.source if body.source is not None else item.source,
        body.url if "url" in given else item.url,
        {k: v for k, v in ids.items() if k != MOODLE or course},
    )
    if after != (item.title, item.source, item.url, external_ids(item)):
        before = item.moodle_course_id
        item.title, item.source, item.url, _ = after
        item.external_ids = {k: v for k, v in ids.items() if k != MOODLE}
        item.moodle_course_id = course
        item.updated_at = utcnow()
        await listing.session.flush()
        if course is not None and course != before:
            await _backfill(listing.session, item, course)
    return False, item_out(item)


async def _create(listing: Listing, slug: str, body: schemas.CatalogItemIn) -> CatalogItem:
    """A new item: its slug as `catalog import` would write it, a title and a kind."""
    if not SLUG.match(slug):
        lower = slug.lower()
        raise ApiProblem(
            "refused",
            f"A new item's slug is {SLUG_RULE}, as `catalog import` writes it: "
            f"PUT /api/v1/catalog/items/{lower} instead.",
        )
    missing = [name for name in ("title", "kind") if getattr(body, name) is None]
    if missing:
        raise ApiProblem(
            "invalid-body",
            f"'{slug}' is a new item: give its {' and '.join(missing)}.",
            errors=[
                schemas.FieldError(field=f"body.{name}", message="required for a new item")
                for name in missing
            ],
        )
    assert body.title is not None and body.kind is not None
    ids = merged_ids({}, body.external_ids or {})
    course = moodle_course(ids)
    item = await create_item(
        listing.session,
        listing.organisation_id,
        slug=slug,
        kind=body.kind,
        title=body.title,
        source=body.source or ItemSource.OWN,
        url=body.url,
    )
    item.external_ids = {k: v for k, v in ids.items() if k != MOODLE}
    item.moodle_course_id = course
    item.updated_at = item.created_at
    await listing.session.flush()
    return item


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
