"""`catalog import`: topics, articles and pathways from a CSV file, each new one with its
default enrolment link (see handlers.imports for how a file is checked and written)."""

from __future__ import annotations

from typing import NamedTuple, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.catalog import SLUG, SLUG_RULE, kind_cannot_change
from handlers.csvfile import CATALOG, ImportSummary, RowProblem
from handlers.links import new_secret
from handlers.moodle import queue as moodle_queue
from store.batches import insert_missing, update_by_id
from store.models import CatalogItem, EnrolmentLink, ItemKind, ItemSource, utcnow

TITLE_MAX = 300


class ItemRow(NamedTuple):  # a tuple: cheap to make and to spool, a million times
    slug: str
    kind: ItemKind
    title: str
    source: ItemSource | None  # None: no column or an empty cell, so a known item keeps its
    url: str | None  # None: likewise (an import never clears a url)
    moodle_course_id: int | None = None
    has_course: bool = False  # likewise for the Moodle course (an empty cell unmaps)


class CatalogImport:
    layout = CATALOG

    def __init__(self) -> None:
        # Enrolments sent to the Moodle courses items were given, over the import's batches.
        self.queued_for_moodle = 0

    def describe(self, summary: ImportSummary) -> str:
        """The import's sentence, and what mapping items to Moodle courses sent there."""
        said = summary.describe("item")
        if self.queued_for_moodle:
            n = self.queued_for_moodle
            said += (
                f" {n} enrolment{'s' if n != 1 else ''} already in items just mapped to a "
                "Moodle course queued for it."
            )
        return said

    def parse(self, row: dict[str, str]) -> ItemRow:
        slug = row["slug"].lower()
        if not slug:
            raise RowProblem("the slug is empty")
        if not SLUG.match(slug):
            raise RowProblem(f"slug '{row['slug']}' must be {SLUG_RULE}")
        kind = _choice(_KINDS, row["kind"], "kind")
        source = _choice(_SOURCES, row["source"], "source") if row.get("source") else None
        title = row["title"]
        if not title:
            raise RowProblem("title is empty")
        if len(title) > TITLE_MAX:
            raise RowProblem(f"title is longer than {TITLE_MAX} characters")
        url = row.get("url") or None
        if url and not url.startswith(("http://", "https://")):
            raise RowProblem(f"url '{url}' must start with http:// or https://")
        course = _course_id(row.get("moodle_course_id") or "")
        return ItemRow(slug, kind, title, source, url, course, "moodle_course_id" in row)

    def key(self, parsed: ItemRow) -> str:
        return parsed.slug

    def duplicate(self, key: str, first_line: int) -> str:
        return f"slug '{key}' is already on line {first_line}"

    async def check(
        self, session: AsyncSession, organisation_id: int, rows: list[tuple[int, ItemRow]]
    ) -> list[tuple[int, str]]:
        kinds = await _existing_kinds(session, organisation_id, [r.slug for _, r in rows])
        return [
            (line, kind_cannot_change(row.slug, kinds[row.slug]))
            for line, row in rows
            if row.slug in kinds and kinds[row.slug] != row.kind
        ]

    async def write(
        self, session: AsyncSession, organisation_id: int, rows: list[ItemRow]
    ) -> ImportSummary:
        summary = ImportSummary()
        table = CatalogItem.__table__
        existing = {
            r.slug: r
            for r in await session.execute(
                select(
                    table.c.id,
                    table.c.slug,
                    table.c.title,
                    table.c.source,
                    table.c.url,
                    table.c.moodle_course_id,
                ).where(
                    table.c.organisation_id == organisation_id,
                    table.c.slug.in_([r.slug for r in rows]),
                )
            )
        }
        existing_course = {r.id: r.moodle_course_id for r in existing.values()}
        now = utcnow()
        changes = []
        for row in rows:
            item = existing.get(row.slug)
            if item is None:
                continue
            source = row.source or item.source
            url = row.url or item.url
            course = row.moodle_course_id if row.has_course else item.moodle_course_id
            given = (row.title, source, url, course)
            if (item.title, item.source, item.url, item.moodle_course_id) == given:
                summary.unchanged += 1
            else:
                changes.append(
                    {
                        "id": item.id,
                        "title": row.title,
                        "source": source,
                        "url": url,
                        "moodle_course_id": course,
                        "updated_at": now,
                    }
                )
        await update_by_id(session, table, changes)
        summary.updated += len(changes)
        # An item given a Moodle course (or another one) sends it the enrolments it already has.
        mapped = [
            c["id"]
            for c in changes
            if c["moodle_course_id"] is not None
            and c["moodle_course_id"] != existing_course[c["id"]]
        ]
        self.queued_for_moodle += await moodle_queue.backfill(session, mapped, now)
        new = [r for r in rows if r.slug not in existing]
        if new:
            await _create(session, organisation_id, new)
            summary.created += len(new)
        return summary


async def _create(session: AsyncSession, organisation_id: int, new: list[ItemRow]) -> None:
    """New items, each with its default link."""
    table = CatalogItem.__table__
    now = utcnow()
    await insert_missing(
        session,
        table,
        ("slug", "kind", "title", "source", "url", "moodle_course_id"),
        [
            (
                r.slug,
                r.kind.value,
                r.title,
                (r.source or ItemSource.OWN).value,
                r.url,
                r.moodle_course_id,
            )
            for r in new
        ],
        {"organisation_id": organisation_id, "created_at": now, "updated_at": now},
    )
    ids = (
        await session.execute(
            select(table.c.id).where(
                table.c.organisation_id == organisation_id,
                table.c.slug.in_([r.slug for r in new]),
            )
        )
    ).scalars()
    # Every item has its default link from the moment it exists (the product's rule). An
    # item another import made at the same moment already has its link: ignored.
    await insert_missing(
        session,
        EnrolmentLink.__table__,
        ("item_id", "secret"),
        [(item_id, new_secret()) for item_id in ids],
        {
            "organisation_id": organisation_id,
            "is_default": True,
            "is_active": True,
            "created_at": now,
        },
    )


async def _existing_kinds(
    session: AsyncSession, organisation_id: int, slugs: list[str]
) -> dict[str, ItemKind]:
    found = await session.execute(
        select(CatalogItem.slug, CatalogItem.kind).where(
            CatalogItem.organisation_id == organisation_id, CatalogItem.slug.in_(slugs)
        )
    )
    return {slug: kind for slug, kind in found}


E = TypeVar("E", ItemKind, ItemSource)
# Looked up per row: a dict is several times faster than calling the enum.
_KINDS = {k.value: k for k in ItemKind}
_SOURCES = {s.value: s for s in ItemSource}


def _course_id(cell: str) -> int | None:
    """A Moodle course id (the `id=` in the course's address); empty: not mapped."""
    cell = cell.strip()
    if not cell:
        return None
    if not cell.isdigit() or int(cell) < 1 or len(cell) > 9:
        raise RowProblem(
            f"moodle_course_id '{cell}' must be the course's number in Moodle (the id= in "
            "the course page's address), or empty"
        )
    return int(cell)


def _choice(choices: dict[str, E], value: str, column: str) -> E:
    found = choices.get(value.lower())
    if found is None:
        raise RowProblem(f"{column} '{value}' is not one of {', '.join(choices)}")
    return found
