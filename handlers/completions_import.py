"""`completions import`: completions from a CSV or .xlsx file, one row per person and item: the
columns email, item, completed_at and, optionally, score. How completions arrive from a learning
platform's export until a connector reports them.

Each batch goes through handlers.completions.complete_many, the one place completions are
recorded, so a file does what the API does: the person's current period of the item is
completed; someone known but never enrolled in the item is enrolled (source import) and
completed; an enrolment already completed is left as it is (importing the same file again
changes nothing); a withdrawn one is completed (the work was done); and a recurring rule's next
period is opened for whoever completed. People and items must exist already: a row naming
someone or something unknown is refused with its line, and nothing is written.

completed_at is a date (2027-09-20, midnight UTC) or a date and time (2027-09-20T14:30,
2027-09-20 14:30:00Z, with an offset); a time without an offset is UTC. A completion cannot be
in the future. See handlers.imports for how a file is checked and written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import NamedTuple

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import catalog
from handlers.completions import CompletionOutcome, Reported, complete_many, in_the_future
from handlers.csvfile import COMPLETIONS, ImportSummary, RowProblem
from handlers.directory import users_by_email
from handlers.users import normalise_email
from store.models import CatalogItem, Enrolment, EnrolmentSource, Organisation, User

BY = "enrolbot completions import"


class CompletionRow(NamedTuple):
    email: str
    item: str
    completed_at: datetime
    score: float | None


def moment(text: str) -> datetime:
    """completed_at as an aware UTC datetime; RowProblem with how to write it."""
    text = text.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RowProblem(
            f"'{text}' isn't a date for completed_at: write 2027-09-20 or 2027-09-20T14:30"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def score_of(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise RowProblem(f"'{text}' isn't a score: write a number, e.g. 87.5, or leave it empty")
    return value


@dataclass
class Tally:
    """Beyond the summary: people enrolled first, next periods opened."""

    enrolled_first: int = 0
    next_periods: int = 0


class CompletionsImport:
    layout = COMPLETIONS

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now
        self.tally = Tally()
        self._slugs: list[str] | None = None

    def parse(self, row: dict[str, str]) -> CompletionRow:
        email = normalise_email(row["email"])
        if email is None:
            raise RowProblem(f"'{row['email']}' is not a valid email address")
        item = row["item"].strip().lower()
        if not item:
            raise RowProblem("the item is empty: give the item's slug")
        when = moment(row["completed_at"])
        if in_the_future(when, self.now):
            raise RowProblem(f"completed_at {row['completed_at'].strip()} is in the future")
        return CompletionRow(email, item, when, score_of(row.get("score") or ""))

    def key(self, parsed: CompletionRow) -> str:
        return f"{parsed.email}\0{parsed.item}"

    def duplicate(self, key: str, first_line: int) -> str:
        email, item = key.split("\0")
        return f"{email}'s completion of {item} is already on line {first_line}"

    async def check(
        self, session: AsyncSession, organisation_id: int, rows: list[tuple[int, CompletionRow]]
    ) -> list[tuple[int, str]]:
        known = await users_by_email(session, organisation_id, [r.email for _, r in rows])
        items = await _items(session, organisation_id, {r.item for _, r in rows})
        problems = []
        for line, r in rows:
            if r.email not in known:
                problems.append(
                    (
                        line,
                        f"there's no one with the email {r.email}: `enrolbot users import` first",
                    )
                )
            elif r.item not in items:
                problems.append((line, await self._no_item(session, organisation_id, r.item)))
        return problems

    async def _no_item(self, session: AsyncSession, organisation_id: int, slug: str) -> str:
        if self._slugs is None:  # read once, only for a file that names an unknown item
            self._slugs = await catalog.all_slugs(session, organisation_id)
        near = catalog.closest(slug, self._slugs)
        if near:
            return f"there's no item {slug}: did you mean {near}?"
        return f"there's no item {slug}: check the slug, or `enrolbot catalog import`"

    async def write(
        self, session: AsyncSession, organisation_id: int, rows: list[CompletionRow]
    ) -> ImportSummary:
        ids = await users_by_email(session, organisation_id, [r.email for r in rows])
        items = await _items(session, organisation_id, {r.item for r in rows})
        people = {
            u.id: u
            for u in (await session.execute(select(User).where(User.id.in_(ids.values()))))
            .scalars()
            .all()
        }
        reported = [
            Reported(people[ids[r.email]], items[r.item], r.completed_at, r.score)
            for r in rows
            if r.email in ids and r.item in items
        ]
        self.tally.enrolled_first += await _never_enrolled(session, reported)
        organisation = await session.get(Organisation, organisation_id)
        assert organisation is not None
        done = await complete_many(
            session, organisation, reported, source=EnrolmentSource.IMPORT, by=BY, now=self.now
        )
        completed = sum(d.outcome is CompletionOutcome.COMPLETED for d in done)
        self.tally.next_periods += sum(d.next_period is not None for d in done)
        return ImportSummary(updated=completed, unchanged=len(done) - completed)

    def describe(self, summary: ImportSummary) -> str:
        """The report: what changed, in a sentence."""
        if not summary.changed:
            return f"Nothing changed: {summary.unchanged} completions were recorded already."
        parts = [f"{summary.updated} completed"]
        if self.tally.enrolled_first:
            parts[0] += f" ({self.tally.enrolled_first} enrolled first: they had no enrolment)"
        if summary.unchanged:
            parts.append(f"{summary.unchanged} already completed, left as they were")
        parts.append(f"{self.tally.next_periods} next periods opened by recurring rules")
        return "Imported completions: " + ", ".join(parts) + "."


async def _items(
    session: AsyncSession, organisation_id: int, slugs: set[str]
) -> dict[str, CatalogItem]:
    found = await session.execute(
        select(CatalogItem).where(
            CatalogItem.organisation_id == organisation_id, CatalogItem.slug.in_(sorted(slugs))
        )
    )
    return {item.slug.lower(): item for item in found.scalars()}


async def _never_enrolled(session: AsyncSession, reported: list[Reported]) -> int:
    """How many of the reported people have no enrolment at all in their item."""
    pairs = {(r.user.id, r.item.id) for r in reported}
    if not pairs:
        return 0
    found = await session.execute(
        select(Enrolment.user_id, Enrolment.item_id)
        .where(tuple_(Enrolment.user_id, Enrolment.item_id).in_(sorted(pairs)))
        .distinct()
    )
    return len(pairs) - len(found.all())
