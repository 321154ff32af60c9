"""Catalog items over the API: list, read, and upsert by slug (a platform pushes its catalog)."""

from __future__ import annotations

from sqlalchemy import select

from handlers.api import schemas
from handlers.api.paging import Listing, page
from handlers.api.problems import ApiProblem, not_found
from handlers.catalog import create_item
from store.models import CatalogItem, utcnow


def item_out(item: CatalogItem) -> schemas.CatalogItem:
    return schemas.CatalogItem(
        id=item.id,
        slug=item.slug,
        title=item.title,
        kind=item.kind,
        source=item.source,
        url=item.url,
        external_ids=item.external_ids or {},
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


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
        item.external_ids = body.external_ids
        item.updated_at = item.created_at
        await session.flush()
        return True, item_out(item)
    if item.kind != body.kind:
        raise ApiProblem(
            "conflict",
            f"'{slug}' is already a {item.kind.value}; an item's kind cannot change "
            "(give the new one another slug).",
        )
    changed = (item.title, item.source, item.url, item.external_ids or {}) != (
        body.title,
        body.source,
        body.url,
        body.external_ids,
    )
    if changed:
        item.title, item.source, item.url = body.title, body.source, body.url
        item.external_ids = body.external_ids
        item.updated_at = utcnow()
        await session.flush()
    return False, item_out(item)
