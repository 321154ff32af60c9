"""Making, replacing and deprovisioning SCIM users through the directory core, set-based: a
batch of creations (the requests that arrived together) is checked and written with one
upsert_people call, each request getting its own answer or error."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import directory
from handlers.directory import PersonRecord
from handlers.directory.people import SUBJECT_MAX
from handlers.scim.errors import Conflict, NotFound, ScimError
from handlers.scim.people import (
    NO_EXTERNAL_ID,
    ORIGIN,
    Person,
    email_of,
    get_people,
    get_person,
    scim_key,
    scim_users,
)
from store.batches import plan_each_statement
from store.models import Group, GroupSource, Identity, Membership, User, utcnow

BATCH = 200  # creations written together at most: well inside every bound on parameters
# The tables a first provisioning fills from empty, and reads back while it does.
TABLES_FILLED = tuple(m.__tablename__ for m in (User, Identity, Group, Membership))


async def create_people(
    session: AsyncSession, organisation_id: int, people: list[Person]
) -> list[Person | ScimError]:
    """Provision new SCIM users: each a Person, or Conflict if its userName or externalId is
    already provisioned (or earlier in the batch), or its email belongs to someone provisioned
    under another SCIM user. Someone the portal already knows by that email (from Slack,
    Teams or a file) becomes that SCIM user."""
    await plan_each_statement(session)  # the lookups below too, on PostgreSQL
    results: list[Person | ScimError | None] = [None] * len(people)
    emails: list[str] = []
    for i, person in enumerate(people):
        try:
            emails.append(email_of(person))
        except ScimError as exc:
            results[i] = exc
            emails.append("")
    names, subjects, by_subject = await _taken(session, organisation_id, people)
    holders = await directory.users_by_email(session, organisation_id, [e for e in emails if e])
    linked = await scim_users(session, organisation_id, list(holders.values()))
    held = {e for e, u in holders.items() if u in linked}
    for i, person in enumerate(people):
        if results[i] is None:
            results[i] = _clash(person, emails[i], names, subjects, held)
    chosen = [i for i, r in enumerate(results) if r is None]
    records = [
        (people[i], people[i].external_id or f"{NO_EXTERNAL_ID}{uuid.uuid4().hex}", emails[i])
        for i in chosen
    ]
    if not records:
        return results  # type: ignore[return-value]
    # What upsert_people would read again: the subjects and emails were just looked up.
    known = directory.Known(by_subject, holders)
    ids = await _upsert(session, organisation_id, records, known)
    subject_of = {u: subject for u, (_, subject, _) in zip(ids, records, strict=True) if u}
    written = {u: (people[i], subject_of[u]) for i, u in zip(chosen, ids, strict=True) if u}
    await _remember(session, organisation_id, written)
    made = await get_people(session, organisation_id, [u for u in ids if u])
    for i, user_id in zip(chosen, ids, strict=True):
        results[i] = made[user_id] if user_id else Conflict(f"{emails[i]} is someone else's.")
    return results  # type: ignore[return-value]


def _clash(
    person: Person, email: str, names: set[str], subjects: set[str], held: set[str]
) -> Conflict | None:
    """Why `person` cannot be made, if it cannot; else remembers its keys as taken."""
    name = person.user_name.lower()
    if name in names:
        return Conflict(f"The userName {person.user_name} is already provisioned.")
    if person.external_id and person.external_id in subjects:
        return Conflict(f"The externalId {person.external_id} is already provisioned.")
    if email in held:
        return Conflict(f"Another provisioned user has the email {email}.")
    names.add(name)
    held.add(email)
    if person.external_id:
        subjects.add(person.external_id)
    return None


async def _taken(
    session: AsyncSession, organisation_id: int, people: list[Person]
) -> tuple[set[str], set[str], dict[str, int]]:
    """The userNames (lower-cased) and externalIds among `people`'s already provisioned, and
    the user ids by externalId (as directory.users_by_subject gives them)."""
    key = scim_key(organisation_id)
    names = sorted({p.user_name.lower() for p in people})
    subjects = {p.external_id for p in people if p.external_id}
    wanted = {s[:SUBJECT_MAX] for s in subjects}  # as identities keep them
    rows = await session.execute(
        select(func.lower(Identity.email), Identity.subject, Identity.user_id).where(
            Identity.provider == key.provider,
            Identity.tenant_key == key.tenant_key,
            or_(
                func.lower(Identity.email).in_(names),
                Identity.subject.in_(sorted(subjects | wanted)),
            ),
        )
    )
    found = rows.all()
    by_subject = {s: u for _, s, u in found if s in wanted and u is not None}
    return {n for n, _, _ in found if n in set(names)}, {s for _, s, _ in found}, by_subject


async def replace_person(
    session: AsyncSession, organisation_id: int, user_id: int, person: Person
) -> Person:
    """PUT (and PATCH, once applied): the person becomes what `person` says. A new userName
    or email updates this person; another's userName or externalId is a Conflict."""
    identity = await _identity(session, organisation_id, user_id)
    if identity is None:
        raise NotFound(f"No user has the id {user_id}.")
    email = email_of(person)
    names, subjects, _ = await _taken(session, organisation_id, [person])
    mine = {identity.email.lower() if identity.email else "", identity.subject}
    clash = _clash(person, email, names - mine, subjects - mine, set())
    if clash is not None:
        raise clash
    if person.external_id and person.external_id != identity.subject:
        identity.subject = person.external_id[:64]
        await session.flush()
    await _upsert(session, organisation_id, [(person, identity.subject, email)])
    await _remember(session, organisation_id, {user_id: (person, identity.subject)})
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


async def _upsert(
    session: AsyncSession,
    organisation_id: int,
    people: list[tuple[Person, str, str]],
    known: directory.Known | None = None,
) -> list[int | None]:
    """(person, subject, email) each, written with one upsert_people; their user ids."""
    managers = await scim_users(
        session, organisation_id, [p.manager_id for p, _, _ in people if p.manager_id]
    )
    records = []
    for person, subject, email in people:
        attributes: dict[str, Any] = {
            "first_name": person.first_name,
            "last_name": person.last_name,
            **person.attributes,
        }
        # A manager not provisioned (yet) leaves the manager as it was, as every source does.
        if person.manager_id is None or person.manager_id in managers:
            attributes["manager_id"] = person.manager_id
        records.append(
            PersonRecord(subject=subject, email=email, attributes=attributes, active=person.active)
        )
    result = await directory.upsert_people(
        session, organisation_id, records, ORIGIN, key=scim_key(organisation_id), known=known
    )
    return result.user_ids


async def _remember(
    session: AsyncSession, organisation_id: int, people: dict[int, tuple[Person, str]]
) -> None:
    """Each identity keeps its userName as sent (it need not be the email) and when it was
    last written (meta.lastModified). Found by its whole unique key (with its subject): by
    user id alone, PostgreSQL on a freshly filled table scanned every SCIM identity."""
    if not people:
        return
    key = scim_key(organisation_id)
    table = Identity.__table__
    await session.execute(
        update(table)
        .where(
            and_(
                table.c.provider == key.provider,
                table.c.tenant_key == key.tenant_key,
                table.c.subject == bindparam("s"),
                table.c.user_id == bindparam("u"),
            )
        )
        .values(
            email=bindparam("n"),
            first_name=bindparam("f"),
            last_name=bindparam("l"),
            updated_at=utcnow(),
        ),
        [
            {
                "u": u,
                "s": s,
                "n": p.user_name[:320],
                "f": p.first_name[:100],
                "l": p.last_name[:100],
            }
            for u, (p, s) in people.items()
        ],
    )
