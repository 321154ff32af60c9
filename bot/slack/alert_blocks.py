"""Self-enrolment alerts as Block Kit: handlers.alert_message's words, escaped for Slack.

Everything a person typed (names, titles, link labels, channel names) is escaped in the blocks
and in the fallback `text` alike: Slack renders that text as mrkdwn in notifications, where a
first name `<!channel>` would ping the whole channel. Pure functions.
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.slack.blocks import MESSAGE_BLOCKS, SECTION_LIMIT, escape
from handlers.alert_message import AlertMessage, Shape, Spans

TEXT_LIMIT = 3000  # characters of fallback text we send; Slack truncates at 40,000
MORE_ROOM = 40  # "… and 123,456 more" always fits in the last section


def mrkdwn(spans: Spans) -> str:
    parts = []
    for span in spans:
        text = escape(span.text)
        if span.code:
            text = f"`{text}`"
        elif span.strong and text:
            text = f"*{text}*"
        parts.append(text)
    return "".join(parts)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text[:SECTION_LIMIT]))


def _lines(lines: list[str], room: int) -> list[SectionBlock]:
    """Escaped lines packed into as few sections as fit, cut with a count if they overflow."""
    sections: list[SectionBlock] = []
    current: list[str] = []
    size = 0
    for n, raw in enumerate(lines):
        line = escape(raw[: SECTION_LIMIT // 2])
        if current and size + len(line) + 1 > SECTION_LIMIT - MORE_ROOM:
            if len(sections) == room - 1:
                current.append(f"… and {len(lines) - n:,} more")
                break
            sections.append(_section("\n".join(current)))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        sections.append(_section("\n".join(current)))
    return sections


def alert_message(alert: AlertMessage) -> dict:
    """chat.postMessage arguments (`text` and `blocks`) for one alert, list, digest or notice."""
    text = escape(alert.summary())[:TEXT_LIMIT]
    if alert.shape is Shape.NOTICE:
        return {"text": text, "blocks": [_section(mrkdwn(alert.notice)).to_dict()]}
    if alert.shape is Shape.SINGLE:
        sentence = mrkdwn(alert.entries[0].sentence())
        return {"text": text, "blocks": [_section(sentence).to_dict()]}
    heading = f"*{escape(alert.heading)}*"
    if alert.shape is Shape.DIGEST:
        heading += "\n" + escape(alert.counts())
    head: list[Block] = [_section(heading)]
    more = alert.more()
    tail: list[Block] = [ContextBlock(elements=[MarkdownTextObject(text=more)])] if more else []
    body = _lines([e.line() for e in alert.entries], MESSAGE_BLOCKS - len(head) - 1)
    return {"text": text, "blocks": [b.to_dict() for b in head + body + tail]}
