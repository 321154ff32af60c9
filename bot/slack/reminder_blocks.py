"""A learner's reminders as Block Kit: handlers.reminders.words' sentences, escaped for Slack
mrkdwn, each item's link only in a button's url, a Mute button per item and one for all.
Pure functions."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.slack.alert_blocks import TEXT_LIMIT, mrkdwn
from bot.slack.blocks import SECTION_LIMIT, escape
from handlers.reminders import words
from handlers.reminders.words import Reminded, ReminderMessage, TeamSummary


def _item(item: Reminded) -> list[Block]:
    text = f"*{escape(item.title)}*\n{mrkdwn(item.details())}"[:SECTION_LIMIT]
    buttons = []
    if item.link:
        buttons.append(
            ButtonElement(
                text=words.OPEN, url=item.link[:3000], action_id=f"open_item_{item.item_id}"
            )
        )
    buttons.append(
        ButtonElement(
            text=words.MUTE_ITEM,
            action_id=f"{words.MUTE_ACTION}_{item.item_id}",
            value=words.mute_value(item.item_id),
        )
    )
    return [SectionBlock(text=MarkdownTextObject(text=text)), ActionsBlock(elements=buttons)]


def reminder_message(message: ReminderMessage) -> dict:
    """chat.postMessage arguments for one person's reminders of a day."""
    heading = f"*{escape(message.heading())}*"[:SECTION_LIMIT]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=heading))]
    for item in message.shown():
        blocks += _item(item)
    if message.more():
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=escape(message.more()))]))
    mute_all = ButtonElement(
        text=words.MUTE_ALL,
        action_id=f"{words.MUTE_ACTION}_all",
        value=words.mute_value(None),
    )
    blocks.append(ActionsBlock(elements=[mute_all]))
    return {"text": escape(message.summary())[:TEXT_LIMIT], "blocks": [b.to_dict() for b in blocks]}


def summary_message(summary: TeamSummary) -> dict:
    """chat.postMessage arguments for a manager's weekly summary: a line per report and item,
    each with a Nudge button."""
    heading = f"*{escape(summary.heading)}*"[:SECTION_LIMIT]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=heading))]
    for line in summary.lines:
        nudge = ButtonElement(
            text=words.NUDGE,
            action_id=f"{words.NUDGE_ACTION}_{line.user_id}_{line.item_id}",
            value=f"{line.user_id}:{line.item_id}",
        )
        text = mrkdwn(line.spans)[:SECTION_LIMIT]
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text), accessory=nudge))
    if summary.more:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=escape(summary.more))]))
    return {"text": escape(summary.heading)[:TEXT_LIMIT], "blocks": [b.to_dict() for b in blocks]}
