"""`invite import`: a spreadsheet of up to 500 rows (email, group[, type]) checked whole and
previewed, then sent all at once or not at all (seed 003's "Spreadsheet Upload").

The preview says how many will be invited into which group, and names by row what is wrong
(not an email, an unknown group, a group another source keeps, an unknown type), repeated
addresses, people already in their group, already invited, and who already has an account
(invited all the same: accepting simply adds them to the group). Sending is refused while any
row is wrong, so a file goes in whole or not at all; the invitations are written in one
transaction with their emails in the outbox, which sends them at the mail server's pace.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import csvfile, directory, invitations, users
from handlers.csvfile import INVITATIONS, FileProblem
from handlers.enrol_sheet import records
from handlers.invitations import Invitations, Invited
from handlers.replies import echo
from store.models import Group, Organisation, UserType

SHOWN = 20  # rows named per kind of problem; all are counted


@dataclass
class Plan:
    rows: list[tuple[str, Group, UserType]] = field(default_factory=list)
    wrong: list[tuple[int, str]] = field(default_factory=list)  # (line, what to fix)
    duplicates: list[tuple[int, str]] = field(default_factory=list)
    known: list[str] = field(default_factory=list)  # already users: they just join
    skipped: Invitations = field(default_factory=Invitations)  # already members, invited...

    @property
    def ready(self) -> bool:
        return not self.wrong and bool(self.rows)


def read(path: Path) -> list[tuple[int, list[str]]]:
    """The file's rows (line, [email, group, type]), read as every import reads its file
    (handlers.csvfile: a header naming the columns in any order, or none; another import's
    file named as such); FileProblem when it is not a file to invite from, or holds more than
    IMPORT_MAX people."""
    if path.suffix.lower() not in (".csv", ".xlsx", *csvfile.SPREADSHEETS):
        raise FileProblem(
            None,
            f"a {path.suffix or 'name without .csv'} file can't be read: save it as .csv or .xlsx",
        )
    rows: list[tuple[int, list[str]]] = []
    wrong: list[tuple[int, str]] = []
    for line, row, problem in csvfile.read(path, INVITATIONS):
        if row is None:
            wrong.append((line, problem or "unreadable row"))
        else:
            rows.append((line, [row.get(column, "") for column in INVITATIONS.columns]))
    if wrong:
        more = f" (and {len(wrong) - 1} more lines like it)" if len(wrong) > 1 else ""
        raise FileProblem(wrong[0][0], wrong[0][1] + more)
    if not rows:
        raise FileProblem(None, "the file has no one to invite: a row per person (email, group)")
    if len(rows) > invitations.IMPORT_MAX:
        raise FileProblem(
            None,
            f"it has {len(rows)} rows and at most {invitations.IMPORT_MAX} can be invited at "
            "once: split it",
        )
    return rows


def looks_like_invitations(path: Path) -> bool:
    """Whether the file's first row is an invitations header (email, group[, type], in any
    order): how a file sent to the bot with no words is told from a filled enrolment
    template."""
    try:
        for _, cells in records(path):
            if any(cells):
                return csvfile.header_of(cells, INVITATIONS)
    except FileProblem:
        return False
    return False


async def plan(
    session: AsyncSession, organisation: Organisation, rows: list[tuple[int, list[str]]]
) -> Plan:
    """Check every row against the database; nothing is written."""
    found = Plan()
    groups: dict[str, Group | str] = {}
    seen: set[str] = set()
    candidates: list[tuple[str, Group, UserType]] = []
    for line, cells in rows:
        email = users.normalise_email(cells[0]) if cells else None
        name = cells[1].strip() if len(cells) > 1 else ""
        word = cells[2].strip().lower() if len(cells) > 2 and cells[2].strip() else "staff"
        if email is None:
            found.wrong.append((line, f"`{echo(cells[0], 80) if cells else ''}` is not an email"))
            continue
        if not name:
            found.wrong.append((line, "no group: a group is required to invite"))
            continue
        group = groups.get(name.lower()) or await _group(session, organisation.id, name)
        groups[name.lower()] = group
        if isinstance(group, str):
            found.wrong.append((line, group))
            continue
        if word not in ("staff", "client"):
            found.wrong.append((line, f"`{echo(word, 20)}` is not a type: staff or client"))
            continue
        if email in seen:
            found.duplicates.append((line, email))
            continue
        seen.add(email)
        candidates.append((email, group, UserType(word)))
    found.rows, found.skipped, known = await invitations.sort_out(
        session, organisation.id, candidates
    )
    found.known = sorted(email for email, _, _ in found.rows if email in known)
    return found


async def _group(session: AsyncSession, org_id: int, name: str) -> Group | str:
    matches = await directory.find_group(session, org_id, name)
    if not matches:
        return f"no group called {echo(name, 80)} (`group list` shows them)"
    if len(matches) > 1:
        return f"several groups are called {echo(name, 80)}: rename one"
    return invitations.group_problem(matches[0]) or matches[0]


def preview_lines(found: Plan) -> list[str]:
    """What the preview says, line by line: the CLI prints it, chat shows it as a Notice
    (handlers.invite_import_text). What the file said passes through echo."""
    per_group = Counter(echo(group.name, 80) for _, group, _ in found.rows)
    lines = [f"{len(found.rows)} to invite"] + [
        f"  {n} into {name}" for name, n in sorted(per_group.items())
    ]
    sections = (
        ("Rows to fix", [f"line {line}: {what}" for line, what in found.wrong]),
        ("Repeated (only the first row counts)", [f"line {n}: {e}" for n, e in found.duplicates]),
        ("Already in their group", found.skipped.of(Invited.ALREADY_MEMBER)),
        (
            "Already invited (invite resend EMAIL sends again)",
            found.skipped.of(Invited.ALREADY_INVITED),
        ),
        ("Deactivated, not invited", found.skipped.of(Invited.DEACTIVATED)),
        ("Already have an account (accepting adds them to the group)", found.known),
    )
    for title, items in sections:
        if items:
            lines.append(f"{title}: {len(items)}")
            lines += [f"  {item}" for item in items[:SHOWN]]
            if len(items) > SHOWN:
                lines.append(f"  … and {len(items) - SHOWN} more")
    return lines
