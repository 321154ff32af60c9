"""`groups import`: memberships from a CSV or .xlsx file, one row per membership: the columns
group, kind, email (kind empty means group). Groups missing are made (source `file`); people
must be known already (`users import` first). A file only adds: it never takes anyone out.

A group of an attribute's kind (company, department, team, function) sets that attribute of its
members, as adding them by hand does. A group that SCIM, Slack or Teams keeps is refused, with
where to change it. See handlers.imports for how a file is checked and written.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.csvfile import GROUPS, ImportSummary, RowProblem
from handlers.directory import Origin, users_by_email
from handlers.directory import file_rows as cells
from handlers.users import normalise_email

ORIGIN = Origin("file", "enrolbot groups import")


class MembershipRow(NamedTuple):
    kind: str
    group: str
    email: str


class GroupsImport:
    layout = GROUPS

    def parse(self, row: dict[str, str]) -> MembershipRow:
        name = cells.text_value("group", row["group"])
        if name is None:
            raise RowProblem("the group's name is empty")
        email = normalise_email(row["email"])
        if email is None:
            raise RowProblem(f"'{row['email']}' is not a valid email address")
        return MembershipRow(cells.kind_of(row.get("kind") or "").value, name, email)

    def key(self, parsed: MembershipRow) -> str:
        return f"{parsed.kind}\0{parsed.group.lower()}\0{parsed.email}"

    def duplicate(self, key: str, first_line: int) -> str:
        kind, group, email = key.split("\0")
        return f"{email} in the {kind} {group} is already on line {first_line}"

    async def check(
        self, session: AsyncSession, organisation_id: int, rows: list[tuple[int, MembershipRow]]
    ) -> list[tuple[int, str]]:
        known = await users_by_email(session, organisation_id, [r.email for _, r in rows])
        refused = await cells.owned_elsewhere(
            session, organisation_id, {(r.kind, r.group) for _, r in rows}
        )
        problems = []
        for line, r in rows:
            if r.email not in known:
                problems.append(
                    (
                        line,
                        f"there's no one with the email {r.email}: `enrolbot users import` first",
                    )
                )
            elif (r.kind, r.group) in refused:
                problems.append((line, refused[(r.kind, r.group)]))
        return problems

    async def write(
        self, session: AsyncSession, organisation_id: int, rows: list[MembershipRow]
    ) -> ImportSummary:
        ids = await users_by_email(session, organisation_id, [r.email for r in rows])
        memberships = [((r.kind, r.group), ids[r.email]) for r in rows if r.email in ids]
        joined = len(await cells.join_groups(session, organisation_id, memberships, ORIGIN))
        return ImportSummary(created=joined, unchanged=len(rows) - joined)
