"""People from a source: found by their stable id in that source (an Identity row), else by
email; made when new; their attributes set; deactivated and reactivated. A changed email updates
the person the stable id names, and never moves the account to another person."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.directory.attributes import FIELDS, apply_attributes, normalised
from handlers.directory.changes import Origin, record, together
from handlers.directory.groups import chunks
from handlers.directory.status import deactivate, deactivated_by, reactivate
from handlers.users import normalise_email
from store.batches import insert_missing, plan_each_statement, update_by_id, update_rows
from store.models import (
    ChangeKind,
    Identity,
    Standing,
    User,
    UserStatus,
    UserType,
    utcnow,
)

log = logging.getLogger(__name__)

SUBJECT_MAX = 64  # Identity.subject; stable ids are far shorter (an Entra object id is 36)
_USERS = User.__table__
_IDENTITIES = Identity.__table__


@dataclass(frozen=True)
class SourceKey:
    """Where stable ids come from, as Identity rows key them: ("slack", team id),
    ("teams", tenant id), ("scim", str(organisation id))."""

    provider: str
    tenant_key: str


@dataclass
class PersonRecord:
    """What a source says of one person. `subject` is their stable id there; `attributes`
    holds any of handlers.directory.attributes.FIELDS but manager_id, which comes from
    `manager_subject` (a stable id in the same source) or `manager_email`."""

    subject: str | None = None
    email: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    manager_subject: str | None = None
    manager_email: str | None = None
    active: bool | None = None  # None: the source does not say
    # With active=True, reactivate only people whose last deactivation came from one of these
    # sources (empty: whoever deactivated them): Slack restores whom Slack deactivated, never
    # whom the identity provider did.
    restores_only_from: tuple[str, ...] = ()
    type: UserType = UserType.STAFF  # for a new person only


@dataclass
class Known:
    """What a caller has just read for the records it passes, so as not to read it again:
    user ids by stable id and by lower-cased email, as users_by_subject and users_by_email
    give them for those records."""

    by_subject: dict[str, int]
    by_email: dict[str, int]


@dataclass
class PeopleResult:
    """The user id of each record (None: unknown and not made, e.g. no email), and counts."""

    user_ids: list[int | None]
    created: int = 0
    changes: int = 0


async def upsert_people(
    session: AsyncSession,
    organisation_id: int,
    people: list[PersonRecord],
    origin: Origin,
    *,
    key: SourceKey | None = None,
    create: bool = True,
    now: datetime | None = None,
    known: Known | None = None,
) -> PeopleResult:
    """Find or make each person, link their stable id, and set what the source says of them;
    set-based, for thousands of records a call. What changed is logged with one insert."""
    now = now or utcnow()
    async with together(session):
        result, made = await _upsert_people(
            session, organisation_id, people, origin, key, create, now, known
        )
    # After the log is written: whom to reactivate may depend on who deactivated them.
    result.changes += await _set_statuses(
        session, organisation_id, people, result.user_ids, made, origin, now
    )
    return result


async def _upsert_people(
    session: AsyncSession,
    organisation_id: int,
    people: list[PersonRecord],
    origin: Origin,
    key: SourceKey | None,
    create: bool,
    now: datetime,
    known: Known | None,
) -> tuple[PeopleResult, dict[int, dict[str, Any]]]:
    """upsert_people but the statuses; also the people made, with their attributes."""
    await plan_each_statement(session)
    emails = [normalise_email(p.email) if p.email else None for p in people]
    if known is None:
        subjects = [p.subject for p in people if p.subject]
        known = Known(
            await users_by_subject(session, key, subjects),
            await users_by_email(session, organisation_id, [e for e in emails if e]),
        )
    by_subject, by_email = known.by_subject, dict(known.by_email)
    ids: list[int | None] = [by_subject.get(p.subject) if p.subject else None for p in people]
    await _follow_emails(session, organisation_id, people, emails, ids, by_email, origin, now)
    for i, email in enumerate(emails):
        if ids[i] is None and email:
            ids[i] = by_email.get(email)
    created, made = 0, {}
    if create:
        created, made = await _create(session, organisation_id, people, emails, ids, origin, now)
    if key is not None:  # the stable ids not linked yet
        await link_identities(
            session,
            key,
            [
                (p.subject, u, e)
                for p, u, e in zip(people, ids, emails, strict=True)
                if p.subject and u and p.subject not in by_subject
            ],
        )
    values = await _attribute_values(session, organisation_id, people, ids, key)
    changes = await apply_attributes(session, organisation_id, values, origin, now, made=made)
    return PeopleResult(ids, created, changes), made


async def _set_statuses(
    session: AsyncSession,
    organisation_id: int,
    people: list[PersonRecord],
    ids: list[int | None],
    made: dict[int, Any],
    origin: Origin,
    now: datetime,
) -> int:
    """Deactivate and reactivate whom the source says; the number of changes."""
    off = [u for p, u in zip(people, ids, strict=True) if u and p.active is False]
    # Someone this call made is active already.
    on = [
        u
        for p, u in zip(people, ids, strict=True)
        if u and p.active and not p.restores_only_from and u not in made
    ]
    changes = len(await deactivate(session, organisation_id, off, origin, now))
    for sources in {p.restores_only_from for p in people if p.active and p.restores_only_from}:
        mine = {
            u for p, u in zip(people, ids, strict=True) if u and p.restores_only_from == sources
        }
        on += await deactivated_by(session, sorted(mine), sources)
    return changes + len(await reactivate(session, organisation_id, on, origin, now))


async def users_by_subject(
    session: AsyncSession, key: SourceKey | None, subjects: list[str]
) -> dict[str, int]:
    """Portal user ids by stable id in a source, for the ids linked to one."""
    found: dict[str, int] = {}
    if key is None:
        return found
    for part in chunks(sorted({s[:SUBJECT_MAX] for s in subjects})):
        rows = await session.execute(
            select(Identity.subject, Identity.user_id).where(
                Identity.provider == key.provider,
                Identity.tenant_key == key.tenant_key,
                Identity.subject.in_(part),
                Identity.user_id.is_not(None),
            )
        )
        found.update({s: u for s, u in rows})
    return found


async def users_by_email(
    session: AsyncSession, organisation_id: int, emails: list[str]
) -> dict[str, int]:
    """Portal user ids by lower-cased email."""
    found: dict[str, int] = {}
    email = func.lower(User.email)
    for part in chunks(sorted({e.lower() for e in emails})):
        rows = await session.execute(
            select(email, User.id).where(User.organisation_id == organisation_id, email.in_(part))
        )
        found.update({e: u for e, u in rows})
    return found


async def link_identities(
    session: AsyncSession, key: SourceKey, links: list[tuple[str, int, str | None]]
) -> None:
    """Remember (stable id, user id, email) of a source: new ids are made, ids that named no one
    now name the user. An id already linked to a person keeps that person."""
    if not links:
        return
    now = utcnow()
    inserted = await insert_missing(
        session,
        _IDENTITIES,
        ("subject", "user_id", "email"),
        [(s[:SUBJECT_MAX], u, e) for s, u, e in links],
        {
            "provider": key.provider,
            "tenant_key": key.tenant_key,
            "first_name": "",
            "last_name": "",
            "standing": Standing.MEMBER,
            "created_at": now,
            "updated_at": now,
        },
        returning=("subject",),
    )
    # Ids seen before without a person (a refusal remembered, say) now name this one.
    user_of = {s[:SUBJECT_MAX]: u for s, u, _ in links}
    if inserted is not None and len(inserted) == len(user_of):
        return  # every one of them new
    unlinked = []
    for part in chunks(sorted(user_of)):
        rows = await session.execute(
            select(Identity.id, Identity.subject).where(
                Identity.provider == key.provider,
                Identity.tenant_key == key.tenant_key,
                Identity.subject.in_(part),
                Identity.user_id.is_(None),
            )
        )
        unlinked += [(identity_id, user_of[subject]) for identity_id, subject in rows]
    await update_rows(session, _IDENTITIES, ("user_id",), unlinked)


async def _follow_emails(
    session: AsyncSession,
    organisation_id: int,
    people: list[PersonRecord],
    emails: list[str | None],
    ids: list[int | None],
    by_email: dict[str, int],
    origin: Origin,
    now: datetime,
) -> None:
    """A person found by stable id whose email changed at the source gets the new email, unless
    another person has it (then neither moves, and the log says so)."""
    known = [(u, e) for u, e in zip(ids, emails, strict=True) if u and e]
    if not known:
        return
    current: dict[int, str] = {}
    for part in chunks(sorted({u for u, _ in known})):
        rows = await session.execute(select(User.id, User.email).where(User.id.in_(part)))
        current.update({u: e for u, e in rows})
    changes, log_rows = [], []
    for user_id, email in known:
        old = current.get(user_id)
        if old is None or old.lower() == email:
            continue
        holder = by_email.get(email)
        if holder is not None and holder != user_id:
            log.warning(
                "a source gave user %s the email of user %s; kept both as they are", user_id, holder
            )
            continue
        changes.append({"id": user_id, "email": email})
        log_rows.append((user_id, ChangeKind.ATTRIBUTE, "email", old, email, None))
        by_email[email] = user_id
    await update_by_id(session, _USERS, changes)
    await record(session, organisation_id, origin, log_rows, now)


async def _create(
    session: AsyncSession,
    organisation_id: int,
    people: list[PersonRecord],
    emails: list[str | None],
    ids: list[int | None],
    origin: Origin,
    now: datetime,
) -> tuple[int, dict[int, dict[str, Any]]]:
    """Make the people not found, filling in their ids: how many were new, and the attributes
    of those this call made, by id, when the back end says which (see insert_missing)."""
    new = {}
    for person, user_id, email in zip(people, ids, emails, strict=True):
        if user_id is None and email and email not in new:
            attrs = person.attributes
            new[email] = (
                email,
                normalised("first_name", attrs.get("first_name")),
                normalised("last_name", attrs.get("last_name")),
                person.type.value,
            )
    if not new:
        return 0, {}
    inserted = await insert_missing(
        session,
        _USERS,
        ("email", "first_name", "last_name", "type"),
        list(new.values()),
        {
            "organisation_id": organisation_id,
            "status": UserStatus.ACTIVE,
            "created_at": now,
            "first_known_at": now,
        },
        returning=("email", "id", *FIELDS),
    )
    if inserted is not None and len(inserted) == len(new):
        made = {row[0]: row[1] for row in inserted}  # emails as given: normalised, lower-case
    else:  # SQLite, or another writer made some of them first
        made = await users_by_email(session, organisation_id, list(new))
    for i, email in enumerate(emails):
        if ids[i] is None and email:
            ids[i] = made.get(email)
    await record(
        session,
        organisation_id,
        origin,
        [(made[e], ChangeKind.PERSON_ADDED, None, None, e, None) for e in new if e in made],
        now,
    )
    return len(new), {row[1]: dict(zip(FIELDS, row[2:], strict=True)) for row in inserted or ()}


async def _attribute_values(
    session: AsyncSession,
    organisation_id: int,
    people: list[PersonRecord],
    ids: list[int | None],
    key: SourceKey | None,
) -> dict[int, dict[str, Any]]:
    """Each person's attributes, with their manager's stable id or email made a user id."""
    managers = await users_by_subject(
        session, key, [p.manager_subject for p in people if p.manager_subject]
    )
    by_email = await users_by_email(
        session,
        organisation_id,
        [m for p in people if (m := normalise_email(p.manager_email or ""))],
    )
    values: dict[int, dict[str, Any]] = {}
    for person, user_id in zip(people, ids, strict=True):
        if user_id is None:
            continue
        attrs = dict(person.attributes)
        # A manager not known yet (later in the same sync) is left as it was: the next sync
        # sets it. A source clears a manager with attributes["manager_id"] = None.
        manager = None
        if person.manager_subject:
            manager = managers.get(person.manager_subject)
        elif person.manager_email:
            manager = by_email.get(normalise_email(person.manager_email) or "")
        if manager is not None and manager != user_id:  # no one manages themselves
            attrs["manager_id"] = manager
        values.setdefault(user_id, {}).update(attrs)
    return values
