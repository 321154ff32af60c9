"""A learner's message from rules as Block Kit: handlers.rules.telling's words, escaped for
Slack mrkdwn, each item's link only in a button's url. Pure functions."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.slack.alert_blocks import TEXT_LIMIT, mrkdwn
from bot.slack.blocks import SECTION_LIMIT, escape
from handlers.rules.telling import OPEN, WITHDRAWN, LearnerMessage, Told


def _item(told: Told) -> SectionBlock:
    text = f"*{escape(told.title)}*\n{mrkdwn(told.details())}"[:SECTION_LIMIT]
    button = None
    if told.link and told.action != WITHDRAWN:
        button = ButtonElement(text=OPEN, url=told.link[:3000], action_id="open_item")
    return SectionBlock(text=MarkdownTextObject(text=text), accessory=button)


def learner_message(message: LearnerMessage) -> dict:
    """chat.postMessage arguments for one person's news from rules."""
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=f"*{escape(message.heading())}*"[:SECTION_LIMIT]))
    ]
    blocks += [_item(told) for told in message.shown()]
    if message.more():
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=escape(message.more()))]))
    return {"text": escape(message.summary())[:TEXT_LIMIT], "blocks": [b.to_dict() for b in blocks]}
