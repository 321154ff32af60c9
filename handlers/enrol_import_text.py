"""What an admin reads about spreadsheet enrolment (`enrol template|import|imports`), worded
once for Slack, Teams and the command line, and the replies that carry a file or a button."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from handlers.enrol_import import (
    DEACTIVATED,
    GUEST,
    NOT_ALLOWED,
    PROSPECT,
    UNKNOWN,
    Preview,
    Started,
)
from handlers.replies import Notice, Tone, echo
from store.models import EnrolImport

REASONS = {
    UNKNOWN: "no one has this email (add them first: `enrolbot users import`)",
    DEACTIVATED: "deactivated",
    GUEST: "a guest: only members of the organisation can be enrolled",
    NOT_ALLOWED: "not one of your direct reports",
    PROSPECT: "a prospect: they enrol through their registration token",
}
START = "Start import"
CANCEL_HINT = "Nothing changes until you choose Start import; this preview works for an hour."
IMPORT_TITLE = "Enrol from a spreadsheet"
IMPORT_FILE_LABEL = "The filled template (.xlsx or .csv)"
IMPORT_FILE_HINT = "Make one with `enrol template ITEMS...`; put x under an item to enrol."
IMPORT_SUBMIT = "Preview"
NO_FILE = "Add the filled template (.xlsx or .csv), then choose Preview."
TEAMS_SEND_FILE = (
    "Send me the filled template (.xlsx or .csv) here in our chat: attach it to a message. "
    "You'll see a preview before anything changes."
)
SLACK_UPLOAD_HERE = "The template is in our direct messages: fill it in, then `{prefix} import`."
TEMPLATE_SENT = "Here is the template for {items}: put emails in column A and x under each item."
TEMPLATE_NEEDS_SCOPE = (
    "I couldn't upload the template: the Slack app needs the files:write scope. Reinstall it."
)
TEMPLATE_UPLOAD_FAILED = "I couldn't upload the template just now: try again in a minute."
FILE_UNREADABLE = "I couldn't fetch that file: send it again (.xlsx or .csv)."
GONE = "This import expired or has run already: send the file again for a new preview."
STARTED = "Import started: I'll say here when it's done."


@dataclass(frozen=True)
class TemplateReady:
    """The template as a file for the platform to hand over."""

    summary: Notice
    filename: str
    content: bytes
    slugs: tuple[str, ...] = ()  # its items, to make it again (a Teams file consent)


@dataclass(frozen=True)
class ImportPreview:
    """A preview with a Start import button carrying the signed id (None: nothing to do)."""

    summary: Notice
    start: str | None


class ImportKind(enum.StrEnum):
    """Which import a file is for: a filled enrolment template, or a sheet of invitations."""

    ENROL = "enrol"
    INVITE = "invite"


@dataclass(frozen=True)
class ImportForm:
    """The words of the form that asks for an import's file."""

    title: str
    label: str
    hint: str
    submit: str
    no_file: str  # the form was sent without its file


@dataclass(frozen=True)
class AskForImportFile:
    """Open a form for the file (a Slack modal); where there is none, `instead` says what to do."""

    instead: Notice
    kind: ImportKind = ImportKind.ENROL


FORM = ImportForm(IMPORT_TITLE, IMPORT_FILE_LABEL, IMPORT_FILE_HINT, IMPORT_SUBMIT, NO_FILE)


def _people(n: int) -> str:
    return f"{n:,} {'person' if n == 1 else 'people'}"


def _enrolments(n: int) -> str:
    return f"{n:,} {'enrolment' if n == 1 else 'enrolments'}"


def _rows(n: int) -> str:
    return f"{n:,} {'row' if n == 1 else 'rows'}"


def template_summary(titles: list[str]) -> Notice:
    return Notice(TEMPLATE_SENT.format(items=", ".join(echo(t) for t in titles)), Tone.SUCCESS)


def preview_lines(p: Preview) -> list[str]:
    """The final check, one line each, plain text (what people typed passes through echo)."""
    lines = []
    if p.items:
        lines.append(f"Will be enrolled: {_people(p.people)}, {_enrolments(p.enrolments)}:")
        lines += [f"  {echo(i.title)} ({echo(i.slug)}): {i.count:,}" for i in p.items]
    else:
        lines.append("No one will be enrolled.")
    lines.append(f"Already enrolled (left as they are): {p.already:,}")
    if p.refused_total:
        lines.append(f"Cannot be enrolled: {_rows(p.refused_total)}")
        lines += [
            f"  row {line}: {echo(email)}: {REASONS.get(reason, reason)}"
            for line, email, reason in p.refused
        ]
        lines += _more(p.refused_total, len(p.refused))
    if p.problems_total:
        lines.append(f"Rows with errors (left out): {_rows(p.problems_total)}")
        lines += [f"  row {line}: {echo(problem, 200)}" for line, problem in p.problems]
        lines += _more(p.problems_total, len(p.problems))
    return lines


def _more(total: int, shown: int) -> list[str]:
    return [f"  … and {total - shown:,} more"] if total > shown else []


def preview_notice(p: Preview) -> Notice:
    heading = f"Final check of {echo(p.filename) or 'your file'} ({_rows(p.rows)})"
    text = CANCEL_HINT if p.items else "There is nothing to import, so nothing will change."
    return Notice(text, Tone.INFO, tuple(preview_lines(p)), heading)


def started_notice(s: Started, told: str = "each told once") -> Notice:
    """What an import did; `told` says how the people enrolled hear of it."""
    text = (
        f"Import {s.import_id} done: {_enrolments(s.enrolled)} made for {_people(s.people)}, "
        f"{told}; {s.already:,} already enrolled, {_rows(s.refused)} could not be "
        f"enrolled, {_rows(s.problems)} had errors."
    )
    return Notice(text, Tone.SUCCESS)


def past_notice(records: list[EnrolImport]) -> Notice:
    if not records:
        return Notice("No spreadsheet imports have run yet: `enrol template ITEMS...` starts one.")
    lines = tuple(
        f"{r.id}  {r.finished_at:%Y-%m-%d %H:%M} UTC  {echo(r.by, 80)}  {echo(r.filename, 60)}: "
        f"{r.enrolled:,} enrolled, {r.already:,} already, {r.refused:,} refused, "
        f"{r.problems:,} with errors"
        for r in records
        if r.finished_at is not None
    )
    return Notice("Spreadsheet imports, newest first:", Tone.INFO, lines)
