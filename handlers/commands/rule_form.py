"""`rule create ITEM` without options: the form (a Slack modal, a Teams card) with the same
fields as the options, whose answer is turned back into the very command line an admin could
type, and run through the same path (parsing, strict dates, preview counts, saving).

FIELDS names each field once (id, label, kind, hint) for both renderers; `command_line` is pure.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from handlers.commands.context import CommandContext
from handlers.commands.dispatch import run
from handlers.replies import Reply

TEXT, DATE, CHECK, CHOICE = "text", "date", "check", "choice"


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    kind: str
    hint: str = ""
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) for CHOICE


FIELDS = (
    Field("everyone", "Everyone in the organisation", CHECK),
    Field("groups", "Groups", TEXT, "Comma-separated, e.g. department:Sales, Mentors"),
    Field("where", "Where", TEXT, "FIELD=VALUE, comma-separated, e.g. company=Acme, language=fr"),
    Field("manager", "Manager", TEXT, "Their email: people reporting to them"),
    Field("all_reports", "Everyone below the manager, not only direct reports", CHECK),
    Field("hired_after", "Hired after", DATE),
    Field("added_after", "Added after", DATE),
    Field(
        "required",
        "Required or recommended",
        CHOICE,
        choices=(("required", "Required"), ("recommended", "Recommended")),
    ),
    Field("reason", "Reason (shown to learners)", TEXT),
    Field("due_within", "Due within (days)", TEXT, "e.g. 30"),
    Field("due_on", "Due on", DATE),
    Field("due_each_year", "Due each year on (MM-DD)", TEXT, "e.g. 10-01"),
    Field("recur", "Recur", TEXT, "once, annual, every 6 months, every 90 days"),
    Field("enrol_days_before", "Enrol days before it is due", TEXT, "e.g. 60"),
    Field("withdraw_on_leave", "Withdraw unstarted enrolments when people leave", CHECK),
    Field("new_only", "Only people who come to match from now on", CHECK),
)
_VALUED = {
    "manager": "--manager",
    "hired_after": "--hired-after",
    "added_after": "--added-after",
    "reason": "--reason",
    "due_within": "--due-within",
    "due_on": "--due-on",
    "due_each_year": "--due-each-year",
    "recur": "--recur",
    "enrol_days_before": "--enrol-days-before",
}
_FLAGS = {
    "everyone": "--everyone",
    "all_reports": "--all-reports",
    "withdraw_on_leave": "--withdraw-on-leave",
    "new_only": "--new-only",
}


def _listed(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _on(value: object) -> bool:
    return value is True or str(value).lower() in ("true", "on", "1", "yes")


def command_line(item_slug: str, values: dict[str, object]) -> str:
    """The `rule create` line the form's answers say, quoted so it splits back exactly."""
    words = ["rule", "create", item_slug]
    for name, flag in _FLAGS.items():
        if _on(values.get(name)):
            words.append(flag)
    for group in _listed(str(values.get("groups") or "")):
        words += ["--group", group]
    for condition in _listed(str(values.get("where") or "")):
        words += ["--where", condition]
    choice = str(values.get("required") or "required")
    words.append("--recommended" if choice == "recommended" else "--required")
    for name, option in _VALUED.items():
        value = str(values.get(name) or "").strip()
        if value:
            words += [option, value]
    return shlex.join(words)


async def submit_rule_form(ctx: CommandContext, item_slug: str, values: dict[str, object]) -> Reply:
    """The form was sent: the same command, the same answer (a mistake is a Notice saying
    what to change)."""
    return await run(ctx, command_line(item_slug, values))
