"""Slack's listeners, grouped by kind as in Slack's bolt-python template: each module's
`register(app)` only wires its named functions. What they all need comes from one middleware
(bot.slack.middleware), so a listener is the translation of one payload and nothing more."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.adapter import Slack
from bot.slack.listeners import actions, commands, directory_events, events, imports, views
from bot.slack.middleware import RequestContext


def register(app: AsyncApp, slack: Slack) -> None:
    app.use(RequestContext(slack))
    for listeners in (commands, actions, views, events, directory_events, imports):
        listeners.register(app)
