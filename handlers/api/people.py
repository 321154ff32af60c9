"""People over the API: list and read; create or update those no identity provider keeps
(a person SCIM provisions is changed in the identity provider, not here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func, select

from handlers import directory
from handlers.api import schemas
from handlers.api.paging import Listing, page
from handlers.api.problems import ApiProblem, not_found
from store.models import Identity, User, UserStatus

SCIM = "scim"  # the provider of the Identity rows SCIM provisioning writes (directory-api)
_ATTRIBUTES = (
    "first_name",
    "last_name",
    "company",
    "department",
    "team",
    "function",
    "language",
    "hire_date",
    "employee_number",
)

scim_managed = (
    exists()
    .where(Identity.user_id == User.id, Identity.provider == SCIM)
    .correlate(User)
    .label("scim_managed")
)


def person_out(user: User, scim_managed: bool) -> schemas.Person:
    return schemas.Person(
        id=user.id,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        type=user.type,
        status=user.status,
        company=user.company,
        department=user.department,
        team=user.team,
        function=user.function,
        language=user.language,
        manager_id=user.manager_id,
        hire_date=user.hire_date,
        employee_number=user.employee_number,
        scim_managed=bool(scim_managed),
    )


async def list_people(listing: Listing, query: schemas.PeopleQuery) -> schemas.PersonPage:
    statement = select(User, scim_managed).where(User.organisation_id == listing.organisation_id)
    filters: dict[str, Any] = {}
    if query.email is not None:
        statement = statement.where(func.lower(User.email) == query.email.lower())
        filters["email"] = query.email.lower()
    if query.status is not None:
        statement = statement.where(User.status == query.status)
        filters["status"] = query.status.value
    rows, cursor = await page(
        listing,
        "people",
        statement,
        id_column=User.id,
        limit=query.limit,
        cursor=query.cursor,
        filters=filters,
    )
    return schemas.PersonPage(data=[person_out(u, s) for u, s in rows], next_cursor=cursor)


async def get_person(listing: Listing, person_id: int) -> schemas.Person:
    row = (
        await listing.session.execute(
            select(User, scim_managed).where(
                User.organisation_id == listing.organisation_id, User.id == person_id
            )
        )
    ).first()
    if row is None:
        raise not_found("person", person_id)
    return person_out(*row)


async def find_user(listing: Listing, person_id: int | None, email: str | None) -> User:
    """A person of the organisation by id or by email (case-insensitive)."""
    where = [User.organisation_id == listing.organisation_id]
    if person_id is not None:
        where.append(User.id == person_id)
    else:
        assert email is not None
        where.append(func.lower(User.email) == email.lower())
    user = (await listing.session.execute(select(User).where(*where))).scalar_one_or_none()
    if user is None:
        raise not_found("person", person_id if person_id is not None else email)
    return user


async def upsert_person(
    listing: Listing, body: schemas.PersonIn, actor: str
) -> tuple[bool, schemas.Person]:
    """Create or update the person with this email, unless SCIM keeps them; whether they are
    new. Written through the directory, so every change is logged. The caller commits."""
    session = listing.session
    found = (
        await session.execute(
            select(User.id, scim_managed).where(
                User.organisation_id == listing.organisation_id,
                func.lower(User.email) == body.email.lower(),
            )
        )
    ).first()
    if found is not None and found[1]:
        raise ApiProblem(
            "conflict",
            f"{body.email} is provisioned by your identity provider (SCIM): change them there.",
        )
    given = body.model_fields_set  # a field left out is left as it is
    attributes = {name: getattr(body, name) for name in _ATTRIBUTES if name in given}
    active = body.active if "active" in given else None
    record = directory.PersonRecord(
        email=body.email, attributes=attributes, active=active, type=body.type
    )
    result = await directory.upsert_people(
        session, listing.organisation_id, [record], directory.Origin("api", actor)
    )
    user_id = result.user_ids[0]
    assert user_id is not None
    user = await session.get(User, user_id, populate_existing=True)
    assert user is not None
    if found is None and active is False and user.status != UserStatus.DEACTIVATED:
        await directory.deactivate(
            session, listing.organisation_id, [user.id], directory.Origin("api", actor)
        )
        await session.refresh(user)
    return found is None, person_out(user, False)
