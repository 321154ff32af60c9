"""People provisioned by SCIM, as SCIM sees them: found by id or filter (writes.py makes,
replaces and deprovisions them through the directory core).

A SCIM user is a portal user linked to an `Identity` of the key ("scim", organisation id):
its `subject` is the identity provider's `externalId` (Entra's object id; "~" and a random id
when the client sends none), its `email` the `userName`. The SCIM `id` is the portal user's id:
stable, ours, never reused for another person. A changed userName or email updates the same
person; it never moves the account to another one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.directory import Origin, SourceKey
from handlers.directory.groups import chunks
from handlers.scim import query
from handlers.scim.errors import InvalidValue, NotFound
from handlers.users import normalise_email
from store.models import GroupSource, Identity, User, UserStatus

ORIGIN = Origin(GroupSource.SCIM.value)
NO_EXTERNAL_ID = "~"  # a subject we made up: the client sent no externalId


def scim_key(organisation_id: int) -> SourceKey:
    return SourceKey("scim", str(organisation_id))


@dataclass
class Person:
    """What a SCIM user says of a person, and what we answer. `attributes` holds
    handlers.directory FIELDS (company, department, function, language, employee_number,
    hire_date); `manager_id` is the manager's SCIM id, None for none."""

    user_name: str
    email: str | None = None
    external_id: str | None = None
    first_name: str = ""
    last_name: str = ""
    active: bool = True
    attributes: dict[str, Any] = field(default_factory=dict)
    manager_id: int | None = None
    id: int | None = None
    created: datetime | None = None
    modified: datetime | None = None


def _as_int(text: str) -> int | None:
    return int(text) if text.isdecimal() and len(text) < 19 else None


def _attributes(organisation_id: int) -> dict[str, query.Attribute]:
    return {
        "id": query.Attribute(User.id, value=_as_int),
        "userName": query.Attribute(Identity.email, case_exact=False),
        "externalId": query.Attribute(Identity.subject),
        "emails": query.Attribute(User.email, case_exact=False),
        "emails.value": query.Attribute(User.email, case_exact=False),
        "name.givenName": query.Attribute(User.first_name, case_exact=False),
        "name.familyName": query.Attribute(User.last_name, case_exact=False),
        "displayName": query.Attribute(
            func.trim(User.first_name + " " + User.last_name), case_exact=False
        ),
        "active": query.Attribute(
            User.status,
            value=lambda v: {"true": UserStatus.ACTIVE, "false": UserStatus.DEACTIVATED}.get(
                v.lower()
            ),
        ),
    }


def _linked(organisation_id: int):
    key = scim_key(organisation_id)
    return (
        select(User, Identity)
        .join(Identity, Identity.user_id == User.id)
        .where(
            User.organisation_id == organisation_id,
            Identity.provider == key.provider,
            Identity.tenant_key == key.tenant_key,
        )
    )


def _person(user: User, identity: Identity) -> Person:
    subject = identity.subject
    return Person(
        id=user.id,
        user_name=identity.email or user.email,
        email=user.email,
        external_id=None if subject.startswith(NO_EXTERNAL_ID) else subject,
        first_name=user.first_name,
        last_name=user.last_name,
        active=user.status == UserStatus.ACTIVE,
        attributes={
            "company": user.company,
            "department": user.department,
            "function": user.function,
            "language": user.language,
            "employee_number": user.employee_number,
            "hire_date": user.hire_date,
        },
        manager_id=user.manager_id,
        created=user.first_known_at or user.created_at,
        modified=identity.updated_at,
    )


async def get_person(session: AsyncSession, organisation_id: int, user_id: int) -> Person:
    found = await get_people(session, organisation_id, [user_id])
    if user_id not in found:
        raise NotFound(f"No user has the id {user_id}.")
    return found[user_id]


async def get_people(
    session: AsyncSession, organisation_id: int, user_ids: list[int]
) -> dict[int, Person]:
    found: dict[int, Person] = {}
    for part in chunks(sorted(set(user_ids))):
        rows = await session.execute(_linked(organisation_id).where(User.id.in_(part)))
        found.update({u.id: _person(u, i) for u, i in rows})
    return found


async def find_people(
    session: AsyncSession,
    organisation_id: int,
    filter_text: str | None,
    start: int,
    count: int,
) -> tuple[int, list[Person]]:
    """(totalResults, the page): `start` is 1-based, ordered by id."""
    statement = _linked(organisation_id)
    if filter_text:
        statement = statement.where(query.condition(filter_text, _attributes(organisation_id)))
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    if count <= 0:
        return total or 0, []
    rows = await session.execute(statement.order_by(User.id).offset(start - 1).limit(count))
    return total or 0, [_person(u, i) for u, i in rows]


async def scim_users(session: AsyncSession, organisation_id: int, ids: list[int]) -> set[int]:
    """Which of these ids are SCIM users of the organisation."""
    key = scim_key(organisation_id)
    found: set[int] = set()
    for part in chunks(sorted(set(ids))):
        rows = await session.execute(
            select(Identity.user_id).where(
                Identity.provider == key.provider,
                Identity.tenant_key == key.tenant_key,
                Identity.user_id.in_(part),
            )
        )
        found.update(rows.scalars())
    return found


def email_of(person: Person) -> str:
    email = normalise_email(person.email or "") or normalise_email(person.user_name)
    if email is None:
        raise InvalidValue(
            "A user needs an email address: send emails with a work or primary address, or a "
            "userName that is an email address."
        )
    return email


def hire_date(text: str | None) -> date | None:
    """The hire date from an ISO date or date-time (Entra sends employeeHireDate as
    2024-03-01T00:00:00Z)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise InvalidValue(
            f"hireDate {text!r} is not a date: send it as 2024-03-01 or 2024-03-01T00:00:00Z."
        ) from None
