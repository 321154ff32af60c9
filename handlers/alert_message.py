"""What a self-enrolment alert says, worded once and rendered three ways.

The outbox hands a destination's due rows over as one batch; `compose` turns them into an
`AlertMessage`: one alert, a combined list, a digest or a notice to an admin. Every sentence,
count, plural and "Showing N of M" a person reads is written here. Slack blocks, Teams cards
and email lay it out and escape it for their surface: user-controlled text (names, titles,
labels, channel names) stays in `Span`s as typed, and only a renderer may turn it into markup.
"""

from __future__ import annotations

import enum
import re
from collections import Counter
from dataclasses import dataclass, field

ALERT = "alert"
NOTICE = "notice"  # a plain sentence to an admin, e.g. that a channel stopped taking alerts
# An invitation email to someone who registered (handlers.registration words and sends it).
INVITATION = "invitation"
# An invitation into a group, and a join page's confirmation email (handlers.invitations_text
# words them).
GROUP_INVITATION = "group_invitation"
JOIN_CONFIRM = "join_confirm"
DIGEST_PREFIX = "digest:"
FALLBACK_NAMES = 20  # people named in a combined message's one-line summary


class Shape(enum.StrEnum):
    SINGLE = "single"
    LIST = "list"
    DIGEST = "digest"
    NOTICE = "notice"


@dataclass(frozen=True)
class Span:
    """A run of text as a person typed or we wrote it; `strong` and `code` say how to show it."""

    text: str
    strong: bool = False
    code: bool = False  # a command to type


Spans = tuple[Span, ...]


def plain(spans: Spans) -> str:
    return "".join(s.text for s in spans)


def count(n: int, noun: str) -> str:
    """ "1 self-enrolment", "1,204 self-enrolments"."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def spans_of(text: str) -> Spans:
    """A sentence we wrote, where `backticks` mark a command to type."""
    parts = re.split(r"`([^`]+)`", text)
    return tuple(Span(p, code=n % 2 == 1) for n, p in enumerate(parts) if p)


@dataclass(frozen=True)
class Entry:
    """One self-enrolment: who, what kind of user, in what, through which link, when. An
    external one came through a self-registration token, which `link` then names."""

    person: str
    user_type: str
    email: str
    item: str
    link: str
    at: str  # ISO 8601, UTC
    external: bool = False

    @classmethod
    def of(cls, payload: dict) -> Entry:
        return cls(
            person=str(payload.get("person", "")),
            user_type=str(payload.get("user_type", "")),
            email=str(payload.get("email", "")),
            item=str(payload.get("item", "")),
            link=str(payload.get("link", "")),
            at=str(payload.get("at", "")),
            external=payload.get("external") is True,
        )

    @property
    def time(self) -> str:
        return self.at[11:16]

    @property
    def day_and_time(self) -> str:
        return self.at[:16].replace("T", " ")

    def sentence(self, *, with_email: bool = False, with_date: bool = False) -> Spans:
        who = f"{self.user_type}, {self.email}" if with_email else self.user_type
        when = self.day_and_time if with_date else self.time
        if self.external:
            return (
                Span(self.person, strong=True),
                Span(f" ({who}) registered as an outsider and enrolled in "),
                Span(self.item, strong=True),
                Span(f" with token {self.link} at {when} UTC."),
            )
        return (
            Span(self.person, strong=True),
            Span(f" ({who}) enrolled themselves in "),
            Span(self.item, strong=True),
            Span(f" through {self.link} at {when} UTC."),
        )

    def fallback(self) -> str:
        if self.external:
            return (
                f"{self.person} registered as an outsider and enrolled in {self.item} "
                f"(token {self.link})."
            )
        return f"{self.person} enrolled themselves in {self.item} ({self.link})."

    def details(self) -> str:
        """The rest of a combined message's line, after the person's name."""
        if self.external:
            return f"{self.user_type} · external · {self.item} · token {self.link} · {self.time}"
        return f"{self.user_type} · {self.item} · {self.link} · {self.time}"

    def line(self) -> str:
        return f"{self.person} ({self.details()})"


@dataclass(frozen=True)
class AlertMessage:
    shape: Shape
    entries: tuple[Entry, ...] = ()
    total_due: int = 0  # rows due for the destination, of which `entries` is the first part
    period: str = ""  # a digest's: hourly, daily
    notice: Spans = ()
    notice_subject: str = ""
    per_item: tuple[tuple[str, int], ...] = field(default=())

    @property
    def noun(self) -> str:
        """What the entries are called together: external enrolments when all of them are."""
        if self.entries and all(e.external for e in self.entries):
            return "external enrolment"
        return "self-enrolment"

    @property
    def heading(self) -> str:
        if self.shape is Shape.DIGEST:
            enrolments = count(len(self.entries), self.noun)
            return f"{self.period.capitalize()} digest: {enrolments}"
        if self.shape is Shape.LIST:
            return count(len(self.entries), self.noun)
        return ""

    def counts(self) -> str:
        """A digest's enrolments per item: "Privacy: 1 · Safety 101: 2"."""
        return " · ".join(f"{title}: {n}" for title, n in self.per_item)

    def more(self, unit: str = "message") -> str:
        """What a message cut at the platform's limits says about the rest."""
        shown, rest = len(self.entries), self.total_due - len(self.entries)
        if rest <= 0:
            return ""
        return (
            f"Showing {shown:,} of {self.total_due:,}; "
            f"the other {rest:,} follow in the next {unit}."
        )

    def summary(self) -> str:
        """One line of plain text: a notification's preview, a chat message's fallback."""
        if self.shape is Shape.NOTICE:
            return plain(self.notice)
        if self.shape is Shape.SINGLE:
            return self.entries[0].fallback()
        names = ", ".join(e.person for e in self.entries[:FALLBACK_NAMES])
        return f"{count(self.total_due, self.noun)}: {names}"

    def subject(self) -> str:
        """An email's subject (one line; the renderer keeps it so)."""
        if self.shape is Shape.NOTICE:
            return self.notice_subject or "enrolbot: self-enrolment alerts"
        items = sorted({e.item for e in self.entries})
        what = items[0] if len(items) == 1 else f"{len(items)} items"
        prefix = f"{self.period.capitalize()} digest: " if self.shape is Shape.DIGEST else ""
        return f"{prefix}{count(len(self.entries), self.noun)} in {what}"


def compose(kind: str, payloads: list[dict], total_due: int) -> AlertMessage:
    """The message for one destination's batch of outbox rows of one kind."""
    if kind == NOTICE:
        # Notices to one person due together go as one message, none dropped.
        first = payloads[0] if payloads else {}
        text = "\n\n".join(str(p.get("text", "")) for p in payloads)
        return AlertMessage(
            Shape.NOTICE,
            notice=spans_of(text),
            notice_subject=str(first.get("subject", "")),
        )
    entries = tuple(Entry.of(p) for p in payloads)
    total = max(total_due, len(entries))
    if kind.startswith(DIGEST_PREFIX):
        per_item = tuple(sorted(Counter(e.item for e in entries).items()))
        return AlertMessage(
            Shape.DIGEST, entries, total, period=kind.removeprefix(DIGEST_PREFIX), per_item=per_item
        )
    if len(entries) == 1:
        return AlertMessage(Shape.SINGLE, entries, total)
    return AlertMessage(Shape.LIST, entries, total)
