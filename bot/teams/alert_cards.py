"""Self-enrolment alerts as Adaptive Cards: handlers.alert_message's words, laid out for Teams.

Teams renders Markdown in a TextBlock's text and in a FactSet's titles and values, so a name
like `[Reset your password](https://evil.example)` would become a link there. What a person
typed therefore goes only into TextRuns of a RichTextBlock, which Adaptive Cards show as
typed ("Markdown is not supported"); bold and monospace are TextRun styles, not markup.
Pure functions.
"""

from __future__ import annotations

from bot.teams.cards import card
from handlers.alert_message import AlertMessage, Shape, Span, Spans

MAX_LINES = 100  # a Teams message holds about 28 KB


def _run(span: Span, **style: object) -> dict:
    run: dict = {"type": "TextRun", "text": span.text, **style}
    if span.strong:
        run["weight"] = "Bolder"
    if span.code:
        run["fontType"] = "Monospace"
    return run


def rich(spans: Spans, **style: object) -> dict:
    """A block of text shown exactly as given, styled span by span."""
    return {"type": "RichTextBlock", "inlines": [_run(s, **style) for s in spans if s.text]}


def alert_card(alert: AlertMessage) -> dict:
    """The card for one alert, list, digest or notice."""
    if alert.shape is Shape.NOTICE:
        return card([rich(alert.notice)])
    if alert.shape is Shape.SINGLE:
        return card([rich(alert.entries[0].sentence())])
    body = [rich((Span(alert.heading, strong=True),))]
    if alert.shape is Shape.DIGEST:
        body.append(rich((Span(alert.counts()),), isSubtle=True))
    for entry in alert.entries[:MAX_LINES]:
        body.append(rich((Span(entry.person, strong=True), Span(f" · {entry.details()}"))))
    more = alert.more()
    if len(alert.entries) > MAX_LINES:
        rest = len(alert.entries) - MAX_LINES
        more = f"… and {rest:,} more. {more}".strip()
    if more:
        body.append(rich((Span(more),), isSubtle=True))
    return card(body)
