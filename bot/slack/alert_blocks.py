"""Self-enrolment alerts as Block Kit: handlers.alert_message's words, escaped for Slack.

Everything a person typed (names, titles, link labels, channel names) is escaped in the blocks
and in the fallback `text` alike: Slack renders that text as mrkdwn in notifications, where a
first name `<!channel>` would ping the whole channel. Pure functions.
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.slack.blocks import MESSAGE_BLOCKS, SECTION_LIMIT, escape, packed_sections
from handlers.alert_message import AlertMessage, Shape, Spans

TEXT_LIMIT = 3000  # characters of fallback text we send; Slack truncates at 40,000


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
    body = packed_sections([e.line() for e in alert.entries], MESSAGE_BLOCKS - len(head) - 1)
    return {"text": text, "blocks": [b.to_dict() for b in head + body + tail]}
