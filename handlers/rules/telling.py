"""What a learner reads when rules enrol or withdraw them, worded once for Slack, Teams and
email. The outbox hands over a person's due "learner" rows as one batch (one row per
enrolment a change made or withdrew); `compose` turns them into one `LearnerMessage`.

What people typed (titles, reasons) stays in `Span`s, so each renderer escapes it for where it
lands; links go only into buttons and URL fields, never into markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from handlers.alert_message import Span, Spans, count, plain

LEARNER = "learner"  # the outbox kind: one person's news from rules
ENROLLED = "enrolled"
WITHDRAWN = "withdrawn"
MAX_ITEMS = 40  # items one message lists (Slack: 50 blocks); the rest are counted


def _day(text: object) -> date | None:
    """The date of a stored timestamp, whatever the database wrote ("2027-10-01T00:00…",
    "2027-10-01 00:00…")."""
    try:
        return date.fromisoformat(str(text)[:10]) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Told:
    """One enrolment a rule made (or withdrew), as the learner is told of it."""

    action: str
    title: str
    url: str
    required: bool
    reason: str
    due: date | None
    by: str = ""  # who did it by hand (their name); empty for rules

    @classmethod
    def of(cls, payload: dict) -> Told:
        return cls(
            action=str(payload.get("action") or ENROLLED),
            title=str(payload.get("title") or ""),
            url=str(payload.get("url") or ""),
            required=payload.get("required") in (True, 1, "1", "true"),
            reason=str(payload.get("reason") or ""),
            due=_day(payload.get("due_at")),
            by=str(payload.get("by") or ""),
        )

    @property
    def link(self) -> str:
        """A link a button may carry: only http(s), never a scheme a title could smuggle."""
        return self.url if self.url.startswith(("https://", "http://")) else ""

    def details(self) -> Spans:
        """Required · due 31 October 2027 · “Every sales person, each year”."""
        if self.action == WITHDRAWN and not self.by:
            return (Span("You no longer match the rule that enrolled you, and had not started."),)
        if self.action == WITHDRAWN:
            spans = [Span("Withdrawn by "), Span(self.by[:200])]
        else:
            parts = ["Required" if self.required else "Recommended"]
            if self.due:
                parts.append(f"due {self.due.day} {self.due:%B %Y}")
            spans = [Span(" · ".join(parts))]
            if self.by:
                spans += [Span(" · enrolled by "), Span(self.by[:200])]
        if self.reason:
            spans += [Span(" · “"), Span(self.reason[:300]), Span("”")]
        return tuple(spans)

    def line(self) -> Spans:
        """The whole item on one line, for plain text."""
        return (Span(self.title, strong=True), Span(": "), *self.details())


@dataclass(frozen=True)
class LearnerMessage:
    items: tuple[Told, ...]
    total: int

    @property
    def enrolled(self) -> tuple[Told, ...]:
        return tuple(t for t in self.items if t.action != WITHDRAWN)

    @property
    def withdrawn(self) -> tuple[Told, ...]:
        return tuple(t for t in self.items if t.action == WITHDRAWN)

    @property
    def by(self) -> str:
        """The one person who made every change here by hand; empty otherwise."""
        names = {t.by for t in self.items}
        return names.pop()[:200] if len(names) == 1 else ""

    def heading(self) -> str:
        enrolled, withdrawn = len(self.enrolled), len(self.withdrawn)
        if self.by and not (enrolled and withdrawn):
            done = self.enrolled if enrolled else self.withdrawn
            what = done[0].title if len(done) == 1 else count(len(done), "item")
            return f"{self.by} {'enrolled you in' if enrolled else 'withdrew you from'} {what}."
        parts = []
        if enrolled == 1:
            parts.append(f"You have been enrolled in {self.enrolled[0].title}")
        elif enrolled:
            parts.append(f"You have been enrolled in {count(enrolled, 'item')}")
        what = self.withdrawn[0].title if withdrawn == 1 else count(withdrawn, "item")
        if withdrawn and enrolled:
            parts.append(f"withdrawn from {what}")
        elif withdrawn:
            parts.append(f"You have been withdrawn from {what}")
        return (" and ".join(parts) or "Your enrolments changed") + "."

    def shown(self) -> tuple[Told, ...]:
        return self.items[:MAX_ITEMS]

    def more(self) -> str:
        rest = self.total - len(self.shown())
        return f"… and {count(rest, 'more item')}." if rest > 0 else ""

    def summary(self) -> str:
        """One line of plain text: the notification's preview."""
        return self.heading()

    def subject(self) -> str:
        return self.heading().rstrip(".")

    def text(self) -> str:
        """Plain text, for email: one line per item, then its link."""
        lines = [self.heading(), ""]
        for told in self.shown():
            lines.append(plain(told.line()))
            if told.link and told.action != WITHDRAWN:
                lines.append(f"  {told.link}")
        if self.more():
            lines.append(self.more())
        return "\n".join(lines) + "\n"


def compose(payloads: list[dict], total_due: int) -> LearnerMessage:
    """One person's message for a batch of learner rows."""
    items = tuple(Told.of(p) for p in payloads)
    return LearnerMessage(items, max(total_due, len(items)))


OPEN = "Open"  # the button's label
