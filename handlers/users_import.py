"""`users import`: portal users from a CSV file, matched by email without regard to case (see
handlers.imports for how a file is checked and written)."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.csvfile import USERS, ImportSummary, RowProblem
from handlers.users import normalise_email
from store.batches import insert_missing, update_by_id
from store.models import User, UserStatus, UserType, utcnow

NAME_MAX = 100


class UserRow(NamedTuple):  # a tuple: cheap to make and to spool, a million times
    email: str
    first_name: str
    last_name: str
    type: UserType


class UsersImport:
    layout = USERS

    def parse(self, row: dict[str, str]) -> UserRow:
        email = normalise_email(row["email"])
        if email is None:
            raise RowProblem(f"'{row['email']}' is not a valid email address")
        try:
            type_ = UserType((row.get("type") or "staff").lower())
        except ValueError:
            allowed = ", ".join(t.value for t in UserType)
            raise RowProblem(f"type '{row['type']}' is not one of {allowed}") from None
        first, last = row["first_name"], row["last_name"]
        if len(first) > NAME_MAX or len(last) > NAME_MAX:
            raise RowProblem(f"names can be at most {NAME_MAX} characters")
        return UserRow(email, first, last, type_)

    def key(self, parsed: UserRow) -> str:
        return parsed.email

    def duplicate(self, key: str, first_line: int) -> str:
        return f"{key} is already on line {first_line}"

    async def check(
        self, session: AsyncSession, organisation_id: int, rows: list[tuple[int, UserRow]]
    ) -> list[tuple[int, str]]:
        return []  # every rule for a user row is in the row itself

    async def write(
        self, session: AsyncSession, organisation_id: int, rows: list[UserRow]
    ) -> ImportSummary:
        summary = ImportSummary()
        table = User.__table__
        email = func.lower(table.c.email)
        existing = {
            r.key: r
            for r in await session.execute(
                select(
                    email.label("key"),
                    table.c.id,
                    table.c.first_name,
                    table.c.last_name,
                    table.c.type,
                ).where(
                    table.c.organisation_id == organisation_id,
                    email.in_([r.email for r in rows]),
                )
            )
        }
        changes = []
        for row in rows:
            user = existing.get(row.email)
            if user is None:
                continue
            if (user.first_name, user.last_name, user.type) == (
                row.first_name,
                row.last_name,
                row.type,
            ):
                summary.unchanged += 1
            else:
                changes.append(
                    {
                        "id": user.id,
                        "first_name": row.first_name,
                        "last_name": row.last_name,
                        "type": row.type,
                    }
                )
        await update_by_id(session, table, changes)
        summary.updated += len(changes)
        new = [r for r in rows if r.email not in existing]
        now = utcnow()
        # A person who signs in and is provisioned at this very moment keeps that row; running
        # the file again brings its names.
        await insert_missing(
            session,
            table,
            ("email", "first_name", "last_name", "type"),
            [(r.email, r.first_name, r.last_name, r.type.value) for r in new],
            {
                "organisation_id": organisation_id,
                "status": UserStatus.ACTIVE,
                "created_at": now,
                "first_known_at": now,
            },
        )
        summary.created += len(new)
        return summary
