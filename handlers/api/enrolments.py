"""Enrolments and completions over the API: list with filters, read, enrol (source `api`,
through handlers.enrol.enrol), withdraw (handlers.withdrawals), complete (handlers.completions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from handlers.api import schemas
from handlers.api.catalog import find_item
from handlers.api.paging import Listing, page
from handlers.api.people import find_user
from handlers.api.problems import ApiProblem, not_found
from handlers.completions import complete, in_the_future
from handlers.enrol import Outcome, enrol
from handlers.enrol_import import DEACTIVATED, GUEST, PROSPECT, refusal
from handlers.enrol_import_text import REASONS
from handlers.withdrawals import WithdrawOutcome, withdraw
from store.models import CatalogItem, Enrolment, EnrolmentSource, Organisation, User

_COLUMNS = (Enrolment, User.email, CatalogItem.slug)
# Why `enrol import` refuses someone, and what to do about it over the API.
REFUSED = {
    DEACTIVATED: "they are deactivated (reactivate them first: POST /api/v1/people with "
    '"active": true)',
    GUEST: REASONS[GUEST],
    PROSPECT: REASONS[PROSPECT] + ", not the API",
}


def _joined() -> Select:
    return (
        select(*_COLUMNS)
        .join(User, User.id == Enrolment.user_id)
        .join(CatalogItem, CatalogItem.id == Enrolment.item_id)
    )


def enrolment_out(row: Enrolment, email: str, slug: str) -> schemas.Enrolment:
    return schemas.Enrolment(
        id=row.id,
        person_id=row.user_id,
        email=email,
        item=slug,
        period=row.period,
        status=row.status,
        source=row.source,
        enrolled_at=row.enrolled_at,
        completed_at=row.completed_at,
        withdrawn_at=row.withdrawn_at,
        score=row.score,
        due_at=row.due_at,
        visible_from=row.visible_from,
        required=row.required,
        updated_at=row.updated_at,
    )


def future(completed_at: datetime) -> str:
    """Why a completion in the future is refused, as `completions import` refuses it."""
    return (
        f"completed_at {completed_at.isoformat()} is in the future: send the time the person "
        "completed the item, with its UTC offset."
    )


async def list_enrolments(listing: Listing, query: schemas.EnrolmentQuery) -> schemas.EnrolmentPage:
    """Ordered by when each last changed (then id): a platform polls with changed_since and
    follows next_cursor to see every change once."""
    statement = _joined().where(CatalogItem.organisation_id == listing.organisation_id)
    filters: dict[str, Any] = {}
    if query.item is not None:
        statement = statement.where(CatalogItem.slug == query.item)
        filters["item"] = query.item
    if query.person_id is not None:
        statement = statement.where(Enrolment.user_id == query.person_id)
        filters["person_id"] = query.person_id
    if query.email is not None:
        statement = statement.where(func.lower(User.email) == query.email.lower())
        filters["email"] = query.email.lower()
    if query.status is not None:
        statement = statement.where(Enrolment.status == query.status)
        filters["status"] = query.status.value
    if query.source is not None:
        statement = statement.where(Enrolment.source == query.source)
        filters["source"] = query.source.value
    if query.changed_since is not None:
        statement = statement.where(Enrolment.updated_at >= query.changed_since)
        filters["changed_since"] = query.changed_since.isoformat()
    rows, cursor = await page(
        listing,
        "enrolments",
        statement,
        id_column=Enrolment.id,
        time_column=Enrolment.updated_at,
        limit=query.limit,
        cursor=query.cursor,
        filters=filters,
    )
    return schemas.EnrolmentPage(data=[enrolment_out(*r) for r in rows], next_cursor=cursor)


async def get_enrolment(listing: Listing, enrolment_id: int) -> schemas.Enrolment:
    row = await _row(listing, enrolment_id)
    return enrolment_out(*row)


async def _row(listing: Listing, enrolment_id: int) -> Any:
    row = (
        await listing.session.execute(
            _joined()
            .where(
                CatalogItem.organisation_id == listing.organisation_id,
                Enrolment.id == enrolment_id,
            )
            .execution_options(populate_existing=True)
        )
    ).first()
    if row is None:
        raise not_found("enrolment", enrolment_id)
    return row


async def _person_item(listing: Listing, body: schemas.PersonRef, slug: str) -> tuple[User, Any]:
    user = await find_user(listing, body.person_id, body.email)
    item = await find_item(listing, slug)
    return user, item


async def create_enrolment(
    listing: Listing, organisation: Organisation, body: schemas.EnrolmentIn, actor: str
) -> tuple[bool, schemas.EnrolmentResult]:
    """Enrol the person (source api) unless `enrol import` would refuse them; whether a new
    enrolment was made. The caller commits."""
    user, item = await _person_item(listing, body, body.item)
    reason = await refusal(listing.session, user.id)
    if reason is not None:
        raise ApiProblem("refused", f"{user.email} cannot be enrolled: {REFUSED[reason]}.")
    outcome = await enrol(
        listing.session,
        organisation=organisation,
        user=user,
        item=item,
        source=EnrolmentSource.API,
        by=actor,
        by_user_id=None,
    )
    row = (
        await listing.session.execute(
            _joined()
            .where(Enrolment.user_id == user.id, Enrolment.item_id == item.id)
            .order_by(Enrolment.period.desc())  # the current period's
            .limit(1)
            .execution_options(populate_existing=True)
        )
    ).one()
    result = schemas.EnrolmentResult(outcome=outcome.value, enrolment=enrolment_out(*row))
    return outcome is Outcome.ENROLLED, result


async def withdraw_enrolment(
    listing: Listing, enrolment_id: int, body: schemas.WithdrawIn, actor: str
) -> schemas.WithdrawResult:
    enrolment, _, _ = await _row(listing, enrolment_id)
    outcome = await withdraw(
        listing.session,
        organisation_id=listing.organisation_id,
        enrolment=enrolment,
        by=actor,
        reason=body.reason,
    )
    if outcome is WithdrawOutcome.COMPLETED:
        raise ApiProblem(
            "conflict",
            f"Enrolment {enrolment_id} is completed, and a completion stands: it cannot be "
            "withdrawn.",
        )
    row = await _row(listing, enrolment_id)
    return schemas.WithdrawResult(outcome=outcome.value, enrolment=enrolment_out(*row))


async def record_completion(
    listing: Listing, organisation: Organisation, body: schemas.CompletionIn, actor: str
) -> tuple[bool, schemas.CompletionResult]:
    """Mark the person's current enrolment completed; whether anything changed."""
    if in_the_future(body.completed_at):
        raise ApiProblem(
            "invalid-body",
            future(body.completed_at),
            errors=[schemas.FieldError(field="body.completed_at", message="in the future")],
        )
    user, item = await _person_item(listing, body, body.item)
    done = await complete(
        listing.session,
        organisation=organisation,
        user=user,
        item=item,
        completed_at=body.completed_at,
        score=body.score,
        source=EnrolmentSource.API,
        by=actor,
    )
    row = await _row(listing, done.enrolment_id)
    result = schemas.CompletionResult(outcome=done.outcome.value, enrolment=enrolment_out(*row))
    return done.outcome.value == "completed", result
