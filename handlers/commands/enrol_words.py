"""Every sentence of enrolling others by hand (`enrol add|withdraw|list`, `team`), written once.
Names and titles come from the directory and the catalog, so each goes through echo() before
it lands in a reply the adapters render as Slack mrkdwn or Adaptive Card text."""

from __future__ import annotations

from datetime import datetime

from handlers.byhand import Added, ItemResult, Named
from handlers.replies import echo, plural
from handlers.rules.wording import day
from handlers.withdrawals import WithdrawOutcome
from store.models import CatalogItem, EnrolmentStatus

SHOWN = 10  # words (not-found emails) a summary shows

SIDES = (
    "PEOPLE are @mentions or emails (and --group GROUP, repeatable); ITEMS are item slugs: "
    "a word with an @ names a person, any other word an item."
)
NO_PEOPLE = "Tell me who: @mentions, emails or --group GROUP, then the items' slugs. " + SIDES
NO_ITEMS = "Tell me which items, by their slugs (`items` lists them). " + SIDES
NOT_YOURS = (
    "{name} isn't one of your direct reports: managers enrol, withdraw and see only their own "
    "team; nothing was changed."
)
NO_TEAM = (
    "No one reports to you in the directory, so there is no team to show. "
    "{list} shows one person's enrolments."
)
ONLY_YOURS = (
    "Only enrolment admins and managers can see other people's enrolments; {mine} shows yours."
)
ONE_OF = "Give --{} or --{}, not both."
PASSED = "--due-on {} has passed: give a later date."
TOO_MANY_ITEMS = "Name at most {} items at a time."
NOT_KNOWN_YET = "I don't know you as a learner yet, so you have no enrolments."


def names(found: Named) -> str:
    shown = ", ".join(echo(n, 80) for n in found.names)
    rest = found.total - len(found.names)
    return shown + (f" and {rest:,} more" if rest > 0 else "")


def words(found: list[str]) -> str:
    shown = ", ".join(found[:SHOWN])
    rest = len(found) - SHOWN
    return shown + (f" and {rest:,} more" if rest > 0 else "")


def item_name(item: CatalogItem) -> str:
    return f"{echo(item.title, 120)} (`{echo(item.slug, 100)}`)"


def _count_named(label: str, found: Named) -> str:
    return f"{label} {found.total:,} ({names(found)})"


def item_line(result: ItemResult) -> str:
    """Safety 101 (`safety-101`): enrolled 2 (Ann Lee, Bo Ma); already enrolled 1 (Cy Ng)."""
    parts = [
        _count_named(label, found)
        for label, found in (
            ("enrolled", result.enrolled),
            ("already enrolled", result.already),
            ("completed already", result.completed),
        )
        if found.total
    ]
    return f"{item_name(result.item)}: {'; '.join(parts) or 'no one to enrol'}"


def placement(required: bool, due: datetime | None, reason: str | None) -> str:
    parts = ["required" if required else "recommended"]
    if due is not None:
        parts.append(f"due {day(due.date())}")
    if reason:
        parts.append(f"because “{echo(reason, 200)}”")
    return ", ".join(parts)


def added(
    result: Added,
    *,
    not_found: list[str],
    outsiders: list[str],
    terms: str,
) -> tuple[str, tuple[str, ...]]:
    """The caller's summary of `enrol add`: a sentence, and a line per item and per refusal."""
    made = sum(r.enrolled.total for r in result.items)
    if made:
        people = "1 person" if result.people == 1 else f"{result.people:,} people"
        text = (
            f"Enrolled {people} ({plural(made, 'new enrolment')}, {terms}); each gets one "
            "message from me saying what, and that you enrolled them."
        )
    else:
        text = "No one was enrolled; nothing changed."
    lines = [item_line(r) for r in result.items]
    if not_found:
        lines.append(f"Not found {len(not_found):,} (no training account): {words(not_found)}")
    if result.deactivated.total:
        lines.append(_count_named("Deactivated, not enrolled:", result.deactivated))
    if result.prospects.total:
        lines.append(
            _count_named(
                "Not allowed, prospects (they enrol through their token):", result.prospects
            )
        )
    if outsiders:
        lines.append(
            f"Not allowed, guests or people from other organisations {len(outsiders):,}: "
            f"{words(outsiders)}"
        )
    if result.not_reports.total:
        lines.append(_count_named("Not allowed, not your direct reports:", result.not_reports))
    return text, tuple(lines)


def withdrawn(outcome: WithdrawOutcome | None, name: str, item: CatalogItem) -> str:
    """The caller's answer to `enrol withdraw`."""
    who, what = echo(name, 80), item_name(item)
    if outcome is WithdrawOutcome.WITHDRAWN:
        return (
            f"Withdrew {who} from {what}. Their progress and history are kept, and I've told them."
        )
    if outcome is WithdrawOutcome.COMPLETED:
        return f"{who} completed {what}; a completion stands, so nothing was withdrawn."
    if outcome is WithdrawOutcome.ALREADY_WITHDRAWN:
        return f"{who} was already withdrawn from {what}; nothing changed."
    return f"{who} isn't enrolled in {what}; nothing changed."


def status(status_: EnrolmentStatus, completed: datetime | None, gone: datetime | None) -> str:
    if status_ is EnrolmentStatus.COMPLETED:
        return f"completed {day(completed.date())}" if completed else "completed"
    if status_ is EnrolmentStatus.WITHDRAWN:
        return f"withdrawn {day(gone.date())}" if gone else "withdrawn"
    return "enrolled"


def due(due_at: datetime | None, open_: bool, now: datetime) -> str:
    """due 3 March 2027, with OVERDUE when an open enrolment's day has passed."""
    if due_at is None:
        return ""
    overdue = open_ and due_at < now
    return f"due {day(due_at.date())}" + (" · ⚠ overdue" if overdue else "")


def source(kind: str, *, label: str | None = None, ref: str | None = None) -> str:
    """How an enrolment came about, as `enrol list` says it."""
    if kind == "link":
        return f"link “{echo(label, 80)}”" if label else "the default link"
    if kind == "registration":
        return f"token {ref}" if ref else "a registration token"
    if kind == "rule":
        return f"rule {ref}" if ref else "a rule"
    if kind == "manual":
        return f"by hand by {echo(ref, 80)}" if ref else "by hand"
    return {
        "import": "import (spreadsheet or completions file)",
        "invitation": "invitation",
        "api": "the API",
        "assignment": "assignment",
    }.get(kind, kind)


def listed_heading(name: str, yourself: bool, total: int) -> str:
    if not total:
        return "You have no enrolments." if yourself else f"{echo(name, 80)} has no enrolments."
    whose = "Your" if yourself else f"{echo(name, 80)}'s"
    return f"{whose} enrolments ({total:,}):"


def team_heading(people: int, shown_items: list[CatalogItem]) -> str:
    what = ", ".join(item_name(i) for i in shown_items) if shown_items else "their enrolments"
    reports = "1 direct report" if people == 1 else f"{people:,} direct reports"
    return f"Your {reports} and {what}, overdue first, then due soon:"


def more(rest: int) -> str:
    return f"… and {rest:,} more"
