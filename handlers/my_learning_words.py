"""Every sentence of My learning (the Slack Home tab, the Teams card, `my learning`), written
once. Plain text: each renderer escapes titles, names and labels for where they land."""

from __future__ import annotations

from datetime import datetime

from handlers.rules.wording import day
from store.models import EnrolmentSource

TITLE = "My learning"
OVERDUE = "Overdue"
DUE_SOON = "Due soon"
REST = "Enrolled"
COMPLETED = "Completed"
FEATURED = "Featured: enrol yourself"
MUTED = "Reminders muted"
EMPTY = "You have no enrolments yet."
NOT_KNOWN = (
    "I don't know you as a learner yet, so there is nothing to show. Click an Enrol button, "
    "or ask an enrolment admin to add you."
)
ENROL = "Enrol"
OPEN = "Open"
UNMUTE = "Unmute"
UNMUTE_ALL = "Unmute all"
ALL_MUTED = "You muted every reminder."
ITEM_MUTED = "reminders muted"
UNMUTED = "Reminders for {title} are on again."
UNMUTED_ALL = "Reminders are on again."
NOT_MUTED = "Those reminders were not muted; nothing changed."
MUTE_PROBLEM = "That button is out of date; open My learning again."
SENT_PRIVATELY = "I sent My learning to our personal chat, where only you can see it."
SENT_NOWHERE = (
    "I couldn't open our personal chat to show you My learning. Open the enrolbot app's chat "
    "and send `enrol my learning` there."
)


def more(rest: int) -> str:
    return f"… and {rest:,} more"


def completed_more(rest: int) -> str:
    return f"… and {rest:,} more completed"


def kind(required: bool | None) -> str:
    """Required or recommended; nothing for enrolments that never said (a link, a token)."""
    if required is None:
        return ""
    return "required" if required else "recommended"


def due(due_at: datetime | None, now: datetime) -> str:
    if due_at is None:
        return ""
    if due_at < now:
        return f"overdue since {day(due_at.date())}"
    return f"due {day(due_at.date())}"


def completed_on(at: datetime | None) -> str:
    return f"completed {day(at.date())}" if at else "completed"


def source_text(
    source: EnrolmentSource,
    *,
    label: str | None = None,
    token: str | None = None,
    by: str | None = None,
    rule: str | None = None,
    rule_id: int | None = None,
) -> str:
    """Why the enrolment is there, short: "rule: Sales department", "link: Intranet",
    "by hand by Bo Boss", "token: Spring fair", "imported", "invitation", "API"."""
    if source is EnrolmentSource.RULE:
        return f"rule: {rule}" if rule else (f"rule {rule_id}" if rule_id else "a rule")
    if source is EnrolmentSource.LINK:
        return f"link: {label}" if label else "link"
    if source is EnrolmentSource.MANUAL:
        return f"by hand by {by}" if by else "by hand"
    if source is EnrolmentSource.REGISTRATION:
        return f"token: {token}" if token else "token"
    return {
        EnrolmentSource.IMPORT: "imported",
        EnrolmentSource.INVITATION: "invitation",
        EnrolmentSource.API: "API",
        EnrolmentSource.ASSIGNMENT: "assignment",
    }.get(source, source.value)


def facts(
    entry_required: bool | None, due_at: datetime | None, source: str, now: datetime, muted: bool
) -> str:
    """The line under a title: required · due 3 March 2027 · rule: Sales department."""
    parts = [kind(entry_required), due(due_at, now), source]
    if muted:
        parts.append(ITEM_MUTED)
    return " · ".join(p for p in parts if p)


def line(title: str, facts_: str) -> str:
    """One enrolment as a plain line (the command's answer)."""
    return f"{title}: {facts_}" if facts_ else title


def heading(open_total: int, completed_total: int) -> str:
    if not open_total and not completed_total:
        return EMPTY
    return f"{open_total:,} to do, {completed_total:,} completed."
