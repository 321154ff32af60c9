"""A learner's reminders as an Adaptive Card: titles only in TextRuns (shown as typed), each
item's link only in an Action.OpenUrl, Mute buttons as Universal Actions. Pure functions."""

from __future__ import annotations

from bot.teams.alert_cards import rich
from bot.teams.cards import card
from handlers.alert_message import Span
from handlers.reminders import words
from handlers.reminders.words import Reminded, ReminderMessage, TeamSummary


def _mute(title: str, item_id: int | None) -> dict:
    data = {"value": words.mute_value(item_id)}
    return {"type": "Action.Execute", "title": title, "verb": words.MUTE_ACTION, "data": data}


def _item(item: Reminded) -> dict:
    actions = []
    if item.link:
        actions.append({"type": "Action.OpenUrl", "title": words.OPEN, "url": item.link})
    actions.append(_mute(words.MUTE_ITEM, item.item_id))
    body = [
        rich((Span(item.title, strong=True),)),
        rich(item.details(), isSubtle=True),
        {"type": "ActionSet", "actions": actions},
    ]
    return {"type": "Container", "separator": True, "items": body}


def reminder_card(message: ReminderMessage) -> dict:
    """The card for one person's reminders of a day."""
    body = [rich((Span(message.heading(), strong=True),))]
    body += [_item(item) for item in message.shown()]
    if message.more():
        body.append(rich((Span(message.more()),), isSubtle=True))
    body.append({"type": "ActionSet", "actions": [_mute(words.MUTE_ALL, None)]})
    return card(body)


def summary_card(summary: TeamSummary) -> dict:
    """The card for a manager's weekly summary, a Nudge per report and item."""
    body = [rich((Span(summary.heading, strong=True),))]
    for line in summary.lines:
        nudge = {
            "type": "Action.Execute",
            "title": words.NUDGE,
            "verb": words.NUDGE_ACTION,
            "data": {"value": f"{line.user_id}:{line.item_id}"},
        }
        body.append(
            {
                "type": "Container",
                "separator": True,
                "items": [rich(line.spans), {"type": "ActionSet", "actions": [nudge]}],
            }
        )
    if summary.more:
        body.append(rich((Span(summary.more),), isSubtle=True))
    return card(body)
