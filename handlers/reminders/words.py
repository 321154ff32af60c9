"""Every sentence of reminders, managers' summaries and nudges, worded once for Slack, Teams
and email. What people typed (titles) stays in `Span`s, so each renderer escapes it for where
it lands; links go only into buttons and URL fields.

The outbox hands over a person's due "reminder" rows as one batch (one row per enrolment and
offset); `compose` turns them into one `ReminderMessage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from handlers.alert_message import Span, Spans, count, plain
from handlers.rules.telling import _day

REMINDER = "reminder"  # the outbox kind: one person's reminders of a day
SUMMARY = "team-summary"  # the outbox kind: a manager's weekly summary
MAX_ITEMS = 20  # items one message lists (Slack: 50 blocks, two per item); the rest counted
OPEN = "Open"
MUTE_ITEM = "Mute this item"
MUTE_ALL = "Mute all reminders"
NUDGE = "Nudge"


def when(due: date | None, today: date | None = None, offset: int | None = None) -> str:
    """due in 7 days (8 December 2027) · due tomorrow · due today · overdue since …"""
    if due is None:
        return ""
    shown = f"{due.day} {due:%B %Y}"
    days = offset if today is None else (due - today).days
    if days is None:
        return f"due {shown}"
    if days > 1:
        return f"due in {days} days ({shown})"
    if days == 1:
        return f"due tomorrow ({shown})"
    if days == 0:
        return f"due today ({shown})"
    return f"overdue: it was due {shown}"


@dataclass(frozen=True)
class Reminded:
    """One enrolment a person is reminded of."""

    item_id: int
    title: str
    url: str
    required: bool
    due: date | None
    offset: int
    by: str = ""  # a manager who nudged (their name); empty for the scheduled reminders

    @classmethod
    def of(cls, payload: dict) -> Reminded:
        return cls(
            item_id=int(payload.get("item_id") or 0),
            title=str(payload.get("title") or ""),
            url=str(payload.get("url") or ""),
            required=payload.get("required") in (True, 1, "1", "true"),
            due=_day(payload.get("due_at")),
            offset=int(payload.get("offset") or 0),
            by=str(payload.get("by") or ""),
        )

    @property
    def link(self) -> str:
        """A link a button may carry: only http(s), never a scheme a title could smuggle."""
        return self.url if self.url.startswith(("https://", "http://")) else ""

    def details(self) -> Spans:
        parts = ["Required" if self.required else "Recommended"]
        if self.due:
            parts.append(when(self.due, offset=self.offset))
        spans = [Span(" · ".join(parts))]
        if self.by:
            spans += [Span(" · a reminder from "), Span(self.by[:200])]
        return tuple(spans)

    def line(self) -> Spans:
        return (Span(self.title, strong=True), Span(": "), *self.details())


@dataclass(frozen=True)
class ReminderMessage:
    items: tuple[Reminded, ...]
    total: int

    def heading(self) -> str:
        nudgers = {r.by for r in self.items if r.by}
        if len(self.items) == 1 and nudgers:
            return f"{nudgers.pop()[:200]} reminds you about {self.items[0].title}."
        if len(self.items) == 1:
            only = self.items[0]
            return f"A reminder: {only.title} is {when(only.due, offset=only.offset)}."
        return f"A reminder: {count(self.total, 'item')} of your training need attention."

    def shown(self) -> tuple[Reminded, ...]:
        return self.items[:MAX_ITEMS]

    def more(self) -> str:
        rest = self.total - len(self.shown())
        return f"… and {count(rest, 'more item')}." if rest > 0 else ""

    def summary(self) -> str:
        return self.heading()

    def subject(self) -> str:
        return self.heading().rstrip(".")

    def text(self) -> str:
        """Plain text, for email: one line per item, then its link."""
        lines = [self.heading(), ""]
        for item in self.shown():
            lines.append(plain(item.line()))
            if item.link:
                lines.append(f"  {item.link}")
        if self.more():
            lines.append(self.more())
        lines += ["", "To stop these reminders, mute them from My learning in Slack or Teams."]
        return "\n".join(lines) + "\n"


def compose(payloads: list[dict], total_due: int) -> ReminderMessage:
    """One person's message for a batch of reminder rows: one line per item, an item reminded
    twice (a nudge and the day's reminder) shown once."""
    seen: dict[int, Reminded] = {}
    for payload in payloads:
        item = Reminded.of(payload)
        seen.setdefault(item.item_id, item)
    items = tuple(seen.values())
    return ReminderMessage(items, max(total_due - (len(payloads) - len(items)), len(items)))


def muted(title: str | None) -> str:
    """The answer to a Mute button."""
    what = title if title else "all your training"
    return f"Muted reminders for {what}. Unmute from My learning."


# The manager's side
def nudge_sent(name: str, title: str) -> str:
    return f"Nudged {name} about {title}: they have a one-line reminder in their direct messages."


def nudge_already(name: str, title: str) -> str:
    return f"{name} was already nudged about {title} today; you can nudge them again tomorrow."


def nudge_refused() -> str:
    return "You can nudge only your own direct reports about training they have not finished."


def team_heading(overdue: int, soon: int) -> str:
    return (
        f"Your team this week: {count(overdue, 'overdue required item')} and "
        f"{count(soon, 'required item')} due in the next 14 days."
    )


def team_line(name: str, title: str, due: date | None, today: date) -> Spans:
    return (Span(name, strong=True), Span(" · "), Span(title), Span(" · " + when(due, today)))


__all__ = ["REMINDER", "SUMMARY", "Reminded", "ReminderMessage", "compose", "muted", "when"]

# What a button carries: a reminder's Mute buttons and a summary's Nudge (Slack action ids,
# Teams verbs), and their values.
MUTE_ACTION = "reminder_mute"
NUDGE_ACTION = "team_nudge"
MUTE_EVERYTHING = "all"


def mute_value(item_id: int | None) -> str:
    return MUTE_EVERYTHING if item_id is None else f"item:{item_id}"


def muted_item(value: str) -> int | None:
    """The item a Mute button's value names; None for everything. ValueError when malformed."""
    if value == MUTE_EVERYTHING:
        return None
    kind, _, number = value.partition(":")
    if kind != "item" or not number.isdigit():
        raise ValueError(f"not a mute button's value: {value[:40]!r}")
    return int(number)


@dataclass(frozen=True)
class TeamLine:
    user_id: int
    item_id: int
    spans: Spans


@dataclass(frozen=True)
class TeamSummary:
    heading: str
    lines: tuple[TeamLine, ...]
    more: str

    def text(self) -> str:
        rows = [self.heading, "", *(plain(line.spans) for line in self.lines)]
        return "\n".join([*rows, self.more] if self.more else rows) + "\n"


def compose_summary(payloads: list[dict]) -> TeamSummary:
    """A manager's weekly summary from its outbox row (the latest, if several are due)."""
    payload = payloads[-1]
    today = _day(payload.get("today")) or date.today()
    rows = list(payload.get("lines") or [])
    overdue = sum(1 for r in rows if r.get("overdue"))
    lines = tuple(
        TeamLine(
            int(r.get("user_id") or 0),
            int(r.get("item_id") or 0),
            team_line(
                str(r.get("name") or ""), str(r.get("title") or ""), _day(r.get("due_at")), today
            ),
        )
        for r in rows[:MAX_ITEMS]
    )
    rest = len(rows) - len(lines)
    more = f"… and {count(rest, 'more')}; `team` lists them all." if rest > 0 else ""
    return TeamSummary(team_heading(overdue, len(rows) - overdue), lines, more)
