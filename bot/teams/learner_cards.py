"""A learner's message from rules as an Adaptive Card: titles and reasons only in TextRuns
(shown as typed), each item's link only in an Action.OpenUrl. Pure functions."""

from __future__ import annotations

from bot.teams.alert_cards import rich
from bot.teams.cards import card
from handlers.alert_message import Span
from handlers.rules.telling import OPEN, WITHDRAWN, LearnerMessage, Told


def _item(told: Told) -> dict:
    body = [rich((Span(told.title, strong=True),)), rich(told.details(), isSubtle=True)]
    container: dict = {"type": "Container", "separator": True, "items": body}
    if told.link and told.action != WITHDRAWN:
        container["items"].append(
            {
                "type": "ActionSet",
                "actions": [{"type": "Action.OpenUrl", "title": OPEN, "url": told.link}],
            }
        )
    return container


def learner_card(message: LearnerMessage) -> dict:
    """The card for one person's news from rules."""
    body = [rich((Span(message.heading(), strong=True),))]
    body += [_item(told) for told in message.shown()]
    if message.more():
        body.append(rich((Span(message.more()),), isSubtle=True))
    return card(body)
