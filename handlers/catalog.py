"""The catalog: topics, articles and pathways, each with its default enrolment link."""

from __future__ import annotations

import difflib
import re

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.links import add_default_link
from store.models import CatalogItem, ItemKind, ItemSource

SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
SLUG_RULE = "lowercase letters, digits, '-', '_' or '.' (at most 100 characters)"


def kind_cannot_change(slug: str, kind: ItemKind) -> str:
    """What `catalog import` and the API say to a new kind for an existing item."""
    return (
        f"'{slug}' is already a {kind.value}; an item's kind cannot change "
        "(give the new one another slug)"
    )


ITEMS_HINT = "`items` lists them."  # in chat, where `items` is a command
ITEMS_HINT_OUTSIDE_CHAT = "In Slack or Teams, `/enrol items` lists them."


class UnknownItem(Exception):
    def __init__(self, slug: str, suggestion: str | None) -> None:
        self.slug = slug
        self.suggestion = suggestion
        super().__init__(self.sentence(ITEMS_HINT))

    def sentence(self, hint: str) -> str:
        """What to say, with `hint` where no slug comes close."""
        then = f"Did you mean `{self.suggestion}`?" if self.suggestion else hint
        return f"There is no item `{self.slug}`. {then}"


async def get_item(session: AsyncSession, organisation_id: int, slug: str) -> CatalogItem:
    """The item with this slug, or UnknownItem carrying the closest slug there is."""
    item = (
        await session.execute(
            select(CatalogItem).where(
                CatalogItem.organisation_id == organisation_id, CatalogItem.slug == slug.lower()
            )
        )
    ).scalar_one_or_none()
    if item is not None:
        return item
    raise UnknownItem(slug, closest(slug, await all_slugs(session, organisation_id)))


async def all_slugs(session: AsyncSession, organisation_id: int) -> list[str]:
    """Every item's slug, for `closest`."""
    found = await session.execute(
        select(CatalogItem.slug).where(CatalogItem.organisation_id == organisation_id)
    )
    return list(found.scalars())


def closest(slug: str, slugs: list[str]) -> str | None:
    """The slug most like one that names no item (a typo), if any is close: the "did you
    mean" of every place a slug is typed."""
    close = difflib.get_close_matches(slug.lower(), slugs, n=1, cutoff=0.5)
    return close[0] if close else None


async def search_items(
    session: AsyncSession, organisation_id: int, query: str | None, limit: int = 50
) -> tuple[list[CatalogItem], int]:
    """Items whose slug or title contains the query, and how many match in all."""
    where = [CatalogItem.organisation_id == organisation_id]
    if query:
        # autoescape: a % or _ the admin typed is a character, not a wildcard
        text = query.lower()
        where.append(
            or_(
                func.lower(CatalogItem.slug).contains(text, autoescape=True),
                func.lower(CatalogItem.title).contains(text, autoescape=True),
            )
        )
    items = list(
        (
            await session.execute(select(CatalogItem).where(*where).order_by(CatalogItem.slug))
        ).scalars()
    )
    return items[:limit], len(items)


async def create_item(
    session: AsyncSession,
    organisation_id: int,
    *,
    slug: str,
    kind: ItemKind,
    title: str,
    source: ItemSource = ItemSource.OWN,
    url: str | None = None,
) -> CatalogItem:
    item = CatalogItem(
        organisation_id=organisation_id, slug=slug, kind=kind, title=title, source=source, url=url
    )
    session.add(item)
    await session.flush()
    add_default_link(session, item)
    await session.flush()
    return item
