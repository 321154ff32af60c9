"""The catalog: topics, articles and pathways, each with its default enrolment link."""

from __future__ import annotations

import difflib
import re
from typing import TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import csvfile
from handlers.links import add_default_link
from store.models import CatalogItem, ItemKind, ItemSource

SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


class UnknownItem(Exception):
    def __init__(self, slug: str, suggestion: str | None) -> None:
        self.slug = slug
        self.suggestion = suggestion
        hint = f" Did you mean `{suggestion}`?" if suggestion else " `items` lists them."
        super().__init__(f"There is no item `{slug}`.{hint}")


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
    slugs = (
        await session.execute(
            select(CatalogItem.slug).where(CatalogItem.organisation_id == organisation_id)
        )
    ).scalars()
    close = difflib.get_close_matches(slug.lower(), list(slugs), n=1, cutoff=0.5)
    raise UnknownItem(slug, close[0] if close else None)


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


async def import_csv(
    session: AsyncSession, organisation_id: int, text: str
) -> csvfile.ImportSummary:
    """Create or update items from CSV rows slug,kind,title[,source[,url]]; all or nothing: the
    caller commits only if this returns."""
    existing = {
        item.slug: item
        for item in (
            await session.execute(
                select(CatalogItem).where(CatalogItem.organisation_id == organisation_id)
            )
        ).scalars()
    }
    summary = csvfile.ImportSummary()
    seen: dict[str, int] = {}
    for line, row in csvfile.rows(text, ["slug", "kind", "title"], ["source", "url"]):
        slug = row["slug"].lower()
        if not SLUG.match(slug):
            raise csvfile.FileProblem(
                line,
                f"slug '{row['slug']}' must be lowercase letters, digits, '-', '_' or '.' "
                "(at most 100 characters)",
            )
        if slug in seen:
            raise csvfile.FileProblem(line, f"slug '{slug}' is already on line {seen[slug]}")
        seen[slug] = line
        kind = _choice(ItemKind, row["kind"], "kind", line)
        source = _choice(ItemSource, row.get("source") or "own", "source", line)
        title = row["title"]
        if not title:
            raise csvfile.FileProblem(line, "title is empty")
        if len(title) > 300:
            raise csvfile.FileProblem(line, "title is longer than 300 characters")
        url = row.get("url") or None
        if url and not url.startswith(("http://", "https://")):
            raise csvfile.FileProblem(line, f"url '{url}' must start with http:// or https://")
        item = existing.get(slug)
        if item is None:
            await create_item(
                session, organisation_id, slug=slug, kind=kind, title=title, source=source, url=url
            )
            summary.created += 1
            continue
        if item.kind != kind:
            raise csvfile.FileProblem(
                line,
                f"'{slug}' is already a {item.kind.value}; an item's kind cannot change "
                "(give the new one another slug)",
            )
        wanted = {"title": title, "source": source, "url": url if "url" in row else item.url}
        if all(getattr(item, k) == v for k, v in wanted.items()):
            summary.unchanged += 1
        else:
            for key, value in wanted.items():
                setattr(item, key, value)
            summary.updated += 1
    if not seen:
        raise csvfile.FileProblem(None, "the file has no rows to import")
    await session.flush()
    return summary


E = TypeVar("E", ItemKind, ItemSource)


def _choice(enum_: type[E], value: str, column: str, line: int) -> E:
    try:
        return enum_(value.strip().lower())
    except ValueError:
        allowed = ", ".join(m.value for m in enum_)
        raise csvfile.FileProblem(line, f"{column} '{value}' is not one of {allowed}") from None
