"""`users import`: portal users from a CSV or .xlsx file, matched by email without regard to case
(see handlers.imports for how a file is checked and written).

Beside email, first_name, last_name and type, a file may give a person's company, department,
team, function, manager_email, language, hire_date and groups (handlers.directory.file_rows):
an empty cell leaves that value as it is. A manager must be a person already known or one in
the same file; groups are separated by `;`, each NAME or KIND:NAME, and are joined (a file
never takes anyone out of a group).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.csvfile import USERS, ImportSummary, RowProblem
from handlers.directory import Origin, apply_attributes, users_by_email
from handlers.directory import file_rows as cells
from handlers.directory.changes import record
from handlers.users import normalise_email
from store.batches import insert_missing, update_by_id
from store.models import ChangeKind, User, UserStatus, UserType, utcnow

NAME_MAX = 100
ORIGIN = Origin("file", "enrolbot users import")
_HASH = (1 << 60) - 1


class UserRow(NamedTuple):  # a tuple: cheap to make and to spool, a million times
    email: str
    # None: the cell was empty or the column absent, so a known person keeps theirs (a new
    # person gets an empty name and the type staff).
    first_name: str | None
    last_name: str | None
    type: UserType | None
    attributes: tuple[tuple[str, Any], ...] = ()  # (field, value) of the non-empty cells
    manager_email: str | None = None
    groups: tuple[cells.GroupKey, ...] = ()


def _directory_cells(row: dict[str, str], email: str) -> tuple:
    attrs: list[tuple[str, Any]] = []
    for column in cells.TEXT_COLUMNS:
        value = cells.text_value(column, row.get(column) or "")
        if value is not None:
            attrs.append((column, value))
    language = cells.language(row.get("language") or "")
    if language:
        attrs.append(("language", language))
    hired: date | None = cells.hire_date(row.get("hire_date") or "")
    if hired:
        attrs.append(("hire_date", hired))
    manager = cells.manager_email(row.get("manager_email") or "", email)
    return tuple(attrs), manager, cells.group_list(row.get("groups") or "")


class UsersImport:
    layout = USERS

    def __init__(self) -> None:
        # Managers not known to the database when their row was checked, and the hashes of
        # every email in the file: a manager must be one or the other.
        self._emails: set[int] = set()
        self._managers: list[tuple[int, str]] = []
        # Managers whose rows come in a later batch: set once that batch is written.
        self._later: dict[str, str] = {}

    def parse(self, row: dict[str, str]) -> UserRow:
        email = normalise_email(row["email"])
        if email is None:
            raise RowProblem(f"'{row['email']}' is not a valid email address")
        type_ = None
        if row.get("type"):
            try:
                type_ = UserType(row["type"].lower())
            except ValueError:
                allowed = ", ".join(t.value for t in UserType)
                raise RowProblem(f"type '{row['type']}' is not one of {allowed}") from None
        first, last = row["first_name"], row["last_name"]
        if len(first) > NAME_MAX or len(last) > NAME_MAX:
            raise RowProblem(f"names can be at most {NAME_MAX} characters")
        return UserRow(email, first or None, last or None, type_, *_directory_cells(row, email))

    def key(self, parsed: UserRow) -> str:
        return parsed.email

    def duplicate(self, key: str, first_line: int) -> str:
        return f"{key} is already on line {first_line}"

    async def check(
        self, session: AsyncSession, organisation_id: int, rows: list[tuple[int, UserRow]]
    ) -> list[tuple[int, str]]:
        self._emails.update(hash(r.email) & _HASH for _, r in rows)
        wanted = [r.manager_email for _, r in rows if r.manager_email]
        known = await users_by_email(session, organisation_id, wanted) if wanted else {}
        self._managers += [
            (line, r.manager_email)
            for line, r in rows
            if r.manager_email and r.manager_email not in known
        ]
        groups = {g for _, r in rows for g in r.groups}
        refused = await cells.owned_elsewhere(session, organisation_id, groups) if groups else {}
        return [(line, refused[g]) for line, r in rows for g in r.groups if g in refused]

    def finish(self) -> list[tuple[int, str]]:
        """Problems only the whole file tells: managers who are neither known nor in it."""
        return [
            (line, f"manager_email {email} is neither a known person nor in this file")
            for line, email in self._managers
            if hash(email) & _HASH not in self._emails
        ]

    async def write(
        self, session: AsyncSession, organisation_id: int, rows: list[UserRow]
    ) -> ImportSummary:
        created, known, changed = await _write_names(session, organisation_id, rows)
        ids = await users_by_email(session, organisation_id, [r.email for r in rows])
        now = utcnow()
        values = {ids[r.email]: dict(r.attributes) for r in rows if r.attributes}
        for r in rows:
            if r.manager_email:
                self._later[r.email] = r.manager_email
        managers = await users_by_email(
            session, organisation_id, [*self._later.values(), *self._later]
        )
        for person, manager in list(self._later.items()):
            if person in managers and manager in managers:
                values.setdefault(managers[person], {})["manager_id"] = managers[manager]
                del self._later[person]
        await apply_attributes(session, organisation_id, values, ORIGIN, now, changed=changed)
        memberships = [(g, ids[r.email]) for r in rows for g in r.groups]
        if memberships:
            changed.update(await cells.join_groups(session, organisation_id, memberships, ORIGIN))
        # Only this batch's known people count: a manager set now for someone of an earlier
        # batch was counted there, and new people are created, not updated.
        updated = len(changed & known)
        return ImportSummary(created, updated, len(known) - updated)


async def _known(session: AsyncSession, organisation_id: int, emails: list[str]) -> dict[str, Row]:
    """The people already there with these (lower-case) emails: id, names and type, by email."""
    table = User.__table__
    email = func.lower(table.c.email)
    return {
        r.key: r
        for r in await session.execute(
            select(
                email.label("key"),
                table.c.id,
                table.c.first_name,
                table.c.last_name,
                table.c.type,
            ).where(table.c.organisation_id == organisation_id, email.in_(emails))
        )
    }


async def _write_names(
    session: AsyncSession, organisation_id: int, rows: list[UserRow]
) -> tuple[int, set[int], set[int]]:
    """Create the new people and update the names and types of the known ones (a value the
    row leaves out stays as it is): how many were created, the ids of the known ones, and of
    those whose names or type changed."""
    table = User.__table__
    existing = await _known(session, organisation_id, [r.email for r in rows])
    changes = []
    for row in rows:
        user = existing.get(row.email)
        if user is None:
            continue
        was = (user.first_name, user.last_name, user.type)
        given = (
            user.first_name if row.first_name is None else row.first_name,
            user.last_name if row.last_name is None else row.last_name,
            user.type if row.type is None else row.type,
        )
        if given != was:
            names = {"first_name": given[0], "last_name": given[1], "type": given[2]}
            changes.append({"id": user.id, **names})
    await update_by_id(session, table, changes)
    new = [r for r in rows if r.email not in existing]
    now = utcnow()
    # A person who signs in and is provisioned at this very moment keeps that row; running
    # the file again brings its names.
    await insert_missing(
        session,
        table,
        ("email", "first_name", "last_name", "type"),
        [
            (r.email, r.first_name or "", r.last_name or "", (r.type or UserType.STAFF).value)
            for r in new
        ],
        {
            "organisation_id": organisation_id,
            "status": UserStatus.ACTIVE,
            "created_at": now,
            "first_known_at": now,
        },
    )
    await _log_added(session, organisation_id, [r.email for r in new], now)
    known = {user.id for user in existing.values()}
    return len(new), known, {c["id"] for c in changes}


async def _log_added(
    session: AsyncSession, organisation_id: int, emails: list[str], now: datetime
) -> None:
    """Each new person in the directory's log, as news for automatic enrolment."""
    if not emails:
        return
    made = await users_by_email(session, organisation_id, emails)
    added = [(made[e], ChangeKind.PERSON_ADDED, None, None, e, None) for e in emails if e in made]
    await record(session, organisation_id, ORIGIN, added, now)
