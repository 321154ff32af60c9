"""People provisioned by SCIM: made, replaced, found and deprovisioned through the directory
core (handlers.directory), which logs every change.

A SCIM user is a portal user linked to an `Identity` of the key ("scim", organisation id):
its `subject` is the identity provider's `externalId` (Entra's object id; "~" and a random id
when the client sends none), its `email` the `userName`. The SCIM `id` is the portal user's id:
stable, ours, never reused for another person. A changed userName or email updates the same
person; it never moves the account to another one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import directory
from handlers.directory import Origin, PersonRecord, SourceKey
from handlers.scim import query
from handlers.scim.errors import Conflict, InvalidValue, NotFound
from handlers.users import normalise_email
from store.models import Group, GroupSource, Identity, Membership, User, UserStatus, utcnow

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
    row = (await session.execute(_linked(organisation_id).where(User.id == user_id))).first()
    if row is None:
        raise NotFound(f"No user has the id {user_id}.")
    return _person(*row)


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


async def create_person(session: AsyncSession, organisation_id: int, person: Person) -> Person:
    """Provision a new SCIM user: 409 if the userName or externalId is already provisioned,
    or the email belongs to someone provisioned under another SCIM user. Someone the portal
    already knows by that email (from Slack, Teams or a file) becomes this SCIM user."""
    email = _email(person)
    await _unique(session, organisation_id, person, None)
    holder = (await directory.users_by_email(session, organisation_id, [email])).get(email)
    if holder is not None and await _identity(session, organisation_id, holder) is not None:
        raise Conflict(f"Another provisioned user has the email {email}.")
    subject = person.external_id or f"{NO_EXTERNAL_ID}{uuid.uuid4().hex}"
    user_id = await _upsert(session, organisation_id, person, subject, email)
    await _remember(session, organisation_id, user_id, person)
    return await get_person(session, organisation_id, user_id)


async def replace_person(
    session: AsyncSession, organisation_id: int, user_id: int, person: Person
) -> Person:
    """PUT (and PATCH, once applied): the person becomes what `person` says."""
    identity = await _identity(session, organisation_id, user_id)
    if identity is None:
        raise NotFound(f"No user has the id {user_id}.")
    email = _email(person)
    await _unique(session, organisation_id, person, user_id)
    if person.external_id and person.external_id != identity.subject:
        identity.subject = person.external_id[:64]
        await session.flush()
    await _upsert(session, organisation_id, person, identity.subject, email)
    await _remember(session, organisation_id, user_id, person)
    return await get_person(session, organisation_id, user_id)


async def deprovision(session: AsyncSession, organisation_id: int, user_id: int) -> None:
    """DELETE: the person is deactivated and leaves the SCIM groups; the SCIM user is gone
    (404 after). Enrolments, history and other sources' groups stay."""
    identity = await _identity(session, organisation_id, user_id)
    if identity is None:
        raise NotFound(f"No user has the id {user_id}.")
    await directory.deactivate(session, organisation_id, [user_id], ORIGIN)
    groups = await session.execute(
        select(Group)
        .join(Membership, Membership.group_id == Group.id)
        .where(
            Group.organisation_id == organisation_id,
            Group.source == GroupSource.SCIM,
            Group.deleted_at.is_(None),
            Membership.user_id == user_id,
            Membership.ended_at.is_(None),
        )
    )
    for group in groups.scalars():
        await directory.remove_members(session, group, [user_id], ORIGIN)
    await session.execute(delete(Identity).where(Identity.id == identity.id))


async def scim_users(session: AsyncSession, organisation_id: int, ids: list[int]) -> set[int]:
    """Which of these ids are SCIM users of the organisation."""
    key = scim_key(organisation_id)
    found: set[int] = set()
    unique = sorted(set(ids))
    for start in range(0, len(unique), 1000):
        rows = await session.execute(
            select(Identity.user_id).where(
                Identity.provider == key.provider,
                Identity.tenant_key == key.tenant_key,
                Identity.user_id.in_(unique[start : start + 1000]),
            )
        )
        found.update(rows.scalars())
    return found


def _email(person: Person) -> str:
    email = normalise_email(person.email or "") or normalise_email(person.user_name)
    if email is None:
        raise InvalidValue(
            "A user needs an email address: send emails with a work or primary address, or a "
            "userName that is an email address."
        )
    return email


async def _identity(session: AsyncSession, organisation_id: int, user_id: int) -> Identity | None:
    key = scim_key(organisation_id)
    return (
        await session.execute(
            select(Identity).where(
                Identity.provider == key.provider,
                Identity.tenant_key == key.tenant_key,
                Identity.user_id == user_id,
            )
        )
    ).scalar_one_or_none()


async def _unique(
    session: AsyncSession, organisation_id: int, person: Person, user_id: int | None
) -> None:
    key = scim_key(organisation_id)
    mine = Identity.provider == key.provider, Identity.tenant_key == key.tenant_key
    checks: list[tuple[ColumnElement[bool], str]] = [
        (
            func.lower(Identity.email) == person.user_name.lower(),
            f"The userName {person.user_name} is already provisioned.",
        )
    ]
    if person.external_id:
        checks.append(
            (
                Identity.subject == person.external_id,
                f"The externalId {person.external_id} is already provisioned.",
            )
        )
    for condition, sentence in checks:
        statement = select(Identity.user_id).where(*mine, condition)
        if user_id is not None:
            statement = statement.where(Identity.user_id != user_id)
        if (await session.execute(statement.limit(1))).first() is not None:
            raise Conflict(sentence)


async def _upsert(
    session: AsyncSession, organisation_id: int, person: Person, subject: str, email: str
) -> int:
    attributes: dict[str, Any] = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        **person.attributes,
    }
    if person.manager_id is None:
        attributes["manager_id"] = None
    elif await scim_users(session, organisation_id, [person.manager_id]):
        attributes["manager_id"] = person.manager_id
    # A manager not provisioned (yet) leaves the manager as it was, as every source does.
    result = await directory.upsert_people(
        session,
        organisation_id,
        [PersonRecord(subject=subject, email=email, attributes=attributes, active=person.active)],
        ORIGIN,
        key=scim_key(organisation_id),
    )
    user_id = result.user_ids[0]
    if user_id is None:
        raise Conflict(f"The email {email} belongs to another person here.")
    return user_id


async def _remember(
    session: AsyncSession, organisation_id: int, user_id: int, person: Person
) -> None:
    """The identity keeps the userName as sent (it need not be the email) and when it was
    last written (meta.lastModified)."""
    key = scim_key(organisation_id)
    await session.execute(
        update(Identity)
        .where(
            Identity.provider == key.provider,
            Identity.tenant_key == key.tenant_key,
            Identity.user_id == user_id,
        )
        .values(
            email=person.user_name[:320],
            first_name=person.first_name[:100],
            last_name=person.last_name[:100],
            updated_at=utcnow(),
        )
    )


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
