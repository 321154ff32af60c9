"""Completions in bulk: up to BATCH_MAX completions in one request and one transaction, for a
platform catching up (a night's completions, a first sync). Each is recorded by
handlers.completions.complete, as a single one is; people and items are looked up once for the
whole batch. One that names an unknown person or item, or a time in the future, is refused on
its own, the rest go on."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from handlers.api import schemas
from handlers.api.enrolments import future
from handlers.api.paging import Listing
from handlers.completions import Reported, complete_many, in_the_future
from store.models import CatalogItem, EnrolmentSource, Organisation, User


async def _people(
    listing: Listing, rows: list[schemas.CompletionIn]
) -> tuple[dict[int, User], dict[str, User]]:
    ids = {r.person_id for r in rows if r.person_id is not None}
    emails = {r.email.lower() for r in rows if r.email is not None}
    found = (
        await listing.session.execute(
            select(User).where(
                User.organisation_id == listing.organisation_id,
                or_(User.id.in_(ids), func.lower(User.email).in_(emails)),
            )
        )
    ).scalars()
    by_id: dict[int, User] = {}
    by_email: dict[str, User] = {}
    for user in found:
        by_id[user.id] = user
        by_email[user.email.lower()] = user
    return by_id, by_email


async def complete_batch(
    listing: Listing,
    organisation: Organisation,
    body: schemas.CompletionBatchIn,
    actor: str,
) -> schemas.CompletionBatchResult:
    rows = body.completions
    by_id, by_email = await _people(listing, rows)
    slugs = {r.item for r in rows}
    items = {
        item.slug: item
        for item in (
            await listing.session.execute(
                select(CatalogItem).where(
                    CatalogItem.organisation_id == listing.organisation_id,
                    CatalogItem.slug.in_(slugs),
                )
            )
        ).scalars()
    }
    refused: dict[int, str] = {}
    reported: list[Reported] = []
    positions: list[int] = []
    for index, row in enumerate(rows):
        user = by_id.get(row.person_id) if row.person_id else by_email.get(row.email.lower())
        item = items.get(row.item)
        if user is None or item is None:
            who = row.person_id if row.person_id is not None else row.email
            refused[index] = (
                f"No person {who} here." if user is None else f"No catalog item {row.item}."
            )
            continue
        if in_the_future(row.completed_at):
            refused[index] = future(row.completed_at)
            continue
        reported.append(Reported(user, item, row.completed_at, row.score))
        positions.append(index)
    done = await complete_many(
        listing.session, organisation, reported, source=EnrolmentSource.API, by=actor
    )
    outcomes = {
        index: schemas.BatchOutcome(
            index=index, outcome=result.outcome.value, enrolment_id=result.enrolment_id
        )
        for index, result in zip(positions, done, strict=True)
    }
    results = [
        outcomes.get(i) or schemas.BatchOutcome(index=i, outcome="refused", problem=refused[i])
        for i in range(len(rows))
    ]
    counts = {o: sum(r.outcome == o for r in results) for o in ("completed", "already_completed")}
    return schemas.CompletionBatchResult(
        completed=counts["completed"],
        already_completed=counts["already_completed"],
        refused=len(results) - sum(counts.values()),
        results=results,
    )
