"""Spreadsheet enrolment (`enrol import`, seed 002): a filled template is staged, previewed (the
"final check"), and only on Start import written, through `enrol_many`, item by item.

Staging: the file's marks (line, email, item) go to `enrol_import_row` in batches, each its
own short transaction. The preview is a handful of aggregate queries over those rows joined to
the people and their enrolments: who cannot be enrolled and why (unknown, deactivated, a guest,
not one of a manager's reports), who is enrolled already, how many will be enrolled in each
item. Start runs `enrol_many` per item over a range of lines at a time (short transactions, so
clicks keep being answered), writing each enrolled person's learner message to the outbox in
the same transaction; the outbox sends a person's rows as one message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import (
    ColumnElement,
    Subquery,
    and_,
    case,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.csvfile import FileProblem
from handlers.directory import users_by_email
from handlers.enrol_sheet import Mark, read
from handlers.staged_signer import PENDING_SECONDS, StagedSigner
from store.batches import Pace
from store.models import (
    CatalogItem,
    EnrolImport,
    EnrolImportRow,
    Enrolment,
    EnrolmentStatus,
    Identity,
    ImportStatus,
    Standing,
    User,
    UserStatus,
    UserType,
    utcnow,
)

BATCH = 1000  # staged rows written per transaction
# Rows enrolled per transaction: short enough that a click waiting for SQLite's write lock
# waits one batch at most (bench/enrol_import.py)
START_BATCH = 250
SHOWN = 20  # refused people and wrong rows a preview names; all are counted

UNKNOWN, DEACTIVATED, GUEST, NOT_ALLOWED = "unknown", "deactivated", "guest", "not_allowed"
PROSPECT = "prospect"  # registered through a token: as `enrol add`, they enrol through it


class ImportGone(Exception):
    """Start import for an import that expired, ran already, or is not this caller's."""


@dataclass(frozen=True)
class ItemCount:
    title: str
    slug: str
    count: int


@dataclass
class Preview:
    """The final check: what Start import would do, and what it cannot."""

    import_id: int
    filename: str
    rows: int = 0  # rows with an email (or an attempt at one)
    people: int = 0  # distinct people who would be enrolled in something
    items: list[ItemCount] = field(default_factory=list)  # enrolments each item would get
    already: int = 0  # marks for people already enrolled (or completed)
    refused: list[tuple[int, str, str]] = field(default_factory=list)  # line, email, reason
    refused_total: int = 0  # rows whose person cannot be enrolled
    problems: list[tuple[int, str]] = field(default_factory=list)
    problems_total: int = 0

    @property
    def enrolments(self) -> int:
        return sum(i.count for i in self.items)


@dataclass(frozen=True)
class Started:
    import_id: int
    enrolled: int  # enrolments made
    people: int  # people told
    already: int
    refused: int
    problems: int


class ImportSigner(StagedSigner):
    """The signed id a Start import button carries."""

    def __init__(self, keys: tuple[str, ...] | list[str]) -> None:
        super().__init__(keys, "enrolbot.enrol-import")


async def stage(
    sessions: async_sessionmaker[AsyncSession],
    organisation_id: int,
    path: Path,
    *,
    by: str,
    by_user_id: int | None,
    filename: str | None = None,
    rest: float = 0.0,
) -> int:
    """Read the file into a new pending import's staged rows; its id. FileProblem when the file
    as a whole is wrong (not a template, unknown items)."""
    slugs, marks = await asyncio.to_thread(_read_all, path)  # openpyxl blocks: not on the loop
    async with sessions() as session, session.begin():
        item_ids = await _items(session, organisation_id, slugs)
        await _forget_expired(session, organisation_id)
        record = EnrolImport(
            organisation_id=organisation_id,
            by=by,
            by_user_id=by_user_id,
            filename=(filename or path.name)[:255],
            status=ImportStatus.PENDING,
            rows=0,
            problems=0,
            enrolled=0,
            already=0,
            refused=0,
            created_at=utcnow(),
        )
        session.add(record)
        await session.flush()
        import_id = record.id
    lines: set[int] = set()
    pace = Pace(BATCH, rest, most=BATCH)  # SQLite: batches that hold the write lock briefly
    for chunk in _chunks(marks, pace):
        async with sessions() as session, session.begin():
            await session.connection()  # SQLite: the write lock is taken here (bulk_writer)
            locked = time.monotonic()
            people = await users_by_email(session, organisation_id, [m.email for m in chunk])
            await session.execute(
                insert(EnrolImportRow.__table__), _staged(import_id, item_ids, chunk, people)
            )
        lines.update(m.line for m in chunk)
        await pace.held(time.monotonic() - locked)  # then the others' turn at the write lock
    async with sessions() as session, session.begin():
        await session.execute(
            update(EnrolImport).where(EnrolImport.id == import_id).values(rows=len(lines))
        )
    return import_id


def _read_all(path: Path) -> tuple[list[str], list[Mark]]:
    slugs, marks = read(path)
    return slugs, list(marks)


def _staged(
    import_id: int, item_ids: list[int], chunk: list[Mark], people: dict[str, int]
) -> list[dict]:
    return [
        {
            "import_id": import_id,
            "line": m.line,
            "email": m.email,
            "user_id": people.get(m.email),
            "item_id": item_ids[m.column] if m.problem is None else None,
            "problem": m.problem,
        }
        for m in chunk
    ]


def _chunks(marks: list[Mark], pace: Pace) -> Iterator[list[Mark]]:
    """`marks` in chunks of as many as `pace` says, asked again for each chunk."""
    start = 0
    while start < len(marks):
        chunk = marks[start : start + pace.rows]
        start += len(chunk)
        yield chunk


async def _items(session: AsyncSession, organisation_id: int, slugs: list[str]) -> list[int]:
    found = dict(
        (
            await session.execute(
                select(CatalogItem.slug, CatalogItem.id).where(
                    CatalogItem.organisation_id == organisation_id,
                    CatalogItem.slug.in_(set(slugs)),
                )
            )
        ).all()
    )
    for column, slug in enumerate(slugs, 2):
        if slug not in found:
            raise FileProblem(
                1,
                f"column {column} names the item `{slug}`, which doesn't exist: check its slug "
                "(in Slack or Teams, `/enrol items` lists them), or make a new template with "
                "`enrol template`",
            )
    return [found[s] for s in slugs]


async def _forget_expired(session: AsyncSession, organisation_id: int) -> None:
    """Previews never started stop holding their staged rows once they expire."""
    old = select(EnrolImport.id).where(
        EnrolImport.organisation_id == organisation_id,
        EnrolImport.status == ImportStatus.PENDING,
        EnrolImport.created_at < utcnow() - timedelta(seconds=PENDING_SECONDS),
    )
    await session.execute(delete(EnrolImportRow).where(EnrolImportRow.import_id.in_(old)))
    await session.execute(delete(EnrolImport).where(EnrolImport.id.in_(old)))


def refusals(manager_id: int | None = None) -> list[tuple[ColumnElement[bool], str]]:
    """Why a person (a User row, or none) cannot be enrolled from a file, as CASE conditions in
    the order they are told; `manager_id`: only that manager's direct reports may be."""
    u, ident = User, Identity
    guest = (
        select(ident.id)
        .where(ident.user_id == u.id, ident.standing.in_([Standing.GUEST, Standing.EXTERNAL]))
        .exists()
    ) & ~select(ident.id).where(ident.user_id == u.id, ident.standing == Standing.MEMBER).exists()
    whens: list[tuple[ColumnElement[bool], str]] = [
        (u.id.is_(None), UNKNOWN),
        (u.status == UserStatus.DEACTIVATED, DEACTIVATED),
        (guest, GUEST),
        (u.type == UserType.PROSPECT, PROSPECT),
    ]
    if manager_id is not None:
        whens.append((func.coalesce(u.manager_id, 0) != manager_id, NOT_ALLOWED))
    return whens


async def refusal(session: AsyncSession, user_id: int) -> str | None:
    """Why `enrol import` would not enrol this person (DEACTIVATED, GUEST, PROSPECT), or None:
    the file's rules for one person, for the API."""
    return await session.scalar(select(case(*refusals(), else_=None)).where(User.id == user_id))


def staged_marks(
    organisation_id: int,
    import_id: int,
    manager_id: int | None,
    only: tuple[int, int, int] | None = None,
) -> Subquery:
    """Each staged mark with its person (if any), why they cannot be enrolled (NULL when they
    can), and whether they are enrolled in the item already; `only` (item id, first line, last
    line) narrows it inside, where the index finds the rows (SQLite would otherwise work out
    every mark of the file for each batch)."""
    r, u = EnrolImportRow, User
    whens = refusals(manager_id)
    narrowed = [r.item_id.is_not(None)]
    if only is not None:
        narrowed = [r.item_id == only[0], r.line.between(only[1], only[2])]
    e = Enrolment
    already = (
        select(e.id)
        .where(
            e.user_id == u.id,
            e.item_id == r.item_id,
            e.status.in_([EnrolmentStatus.ENROLLED, EnrolmentStatus.COMPLETED]),
        )
        .exists()
    )
    return (
        select(
            r.line,
            r.email,
            r.item_id,
            u.id.label("user_id"),
            case(*whens, else_=None).label("reason"),
            already.label("already"),
        )
        .select_from(r)
        .outerjoin(u, and_(u.id == r.user_id, u.organisation_id == organisation_id))
        .where(r.import_id == import_id, *narrowed)
        .subquery("marks")
    )


async def preview(
    session: AsyncSession, organisation_id: int, import_id: int, manager_id: int | None = None
) -> Preview:
    """The final check of a staged import: nothing is written."""
    record = await session.get(EnrolImport, import_id)
    if record is None or record.organisation_id != organisation_id:
        raise ImportGone
    m = staged_marks(organisation_id, import_id, manager_id)
    out = Preview(import_id, record.filename, rows=record.rows)
    ok = and_(m.c.reason.is_(None), ~m.c.already)
    per_item = await session.execute(
        select(CatalogItem.title, CatalogItem.slug, func.count())
        .select_from(m)
        .join(CatalogItem, CatalogItem.id == m.c.item_id)
        .where(ok)
        .group_by(CatalogItem.id, CatalogItem.title, CatalogItem.slug)
        .order_by(CatalogItem.title)
    )
    out.items = [ItemCount(t, s, n) for t, s, n in per_item]
    out.people = await session.scalar(select(func.count(func.distinct(m.c.user_id))).where(ok))
    out.already = await session.scalar(
        select(func.count()).select_from(m).where(m.c.reason.is_(None), m.c.already)
    )
    refused = select(m.c.line, m.c.email, func.min(m.c.reason).label("reason")).where(
        m.c.reason.is_not(None)
    )
    refused = refused.group_by(m.c.line, m.c.email).subquery()
    out.refused_total = await session.scalar(select(func.count()).select_from(refused))
    out.refused = [
        tuple(row)
        for row in await session.execute(select(refused).order_by(refused.c.line).limit(SHOWN))
    ]
    r = EnrolImportRow
    wrong = [r.import_id == import_id, r.problem.is_not(None)]
    out.problems_total = await session.scalar(select(func.count()).where(*wrong))
    out.problems = [
        tuple(row)
        for row in await session.execute(
            select(r.line, r.problem).where(*wrong).order_by(r.line).limit(SHOWN)
        )
    ]
    record.already, record.refused = out.already, out.refused_total
    record.problems = out.problems_total
    return out
