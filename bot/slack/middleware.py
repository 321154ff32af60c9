"""What every Slack listener needs, made once per request by a Bolt middleware that runs after
Bolt has checked the request's signature: the adapter (`slack`), who is asking (`caller`), and
how to open their command context (`command_context`). Bolt hands each to a listener that names
it as an argument.

Nothing here waits on the database or on Slack's directory, so acknowledging a request within
Slack's 3 seconds stays in the listener's hands."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.slack.adapter import PROVIDER, Caller, Slack
from bot.slack.workspace import Workspace
from handlers.commands import CommandContext
from handlers.identity import Account

log = logging.getLogger(__name__)

# Interactions that carry the person in `user`; every one of them does, per Slack's docs.
_INTERACTIONS = {
    "block_actions",
    "block_suggestion",
    "view_submission",
    "view_closed",
    "shortcut",
    "message_action",
}


@dataclass(frozen=True)
class Sender:
    """The person a request names, and the team and Enterprise Grid organisation it says they
    belong to (a Slack Connect partner's own team, for one)."""

    user_id: str
    team_id: str | None
    enterprise_id: str | None
    channel_id: str | None = None
    channel_name: str | None = None


class Malformed(Exception):
    """A signed request without the fields its kind always has."""


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _object(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def sender_of(body: dict) -> Sender | None:
    """The person a slash command, an interaction or a `user_change` event names; None for a
    request that names nobody (other events). Raises Malformed if one of those lacks them."""
    if "command" in body:  # a slash command: a flat form
        user_id = _text(body.get("user_id"))
        if user_id is None:
            raise Malformed("slash command without user_id")
        if _text(body.get("response_url")) is None:  # where every answer goes
            raise Malformed("slash command without response_url")
        return Sender(
            user_id,
            _text(body.get("user_team")) or _text(body.get("team_id")),
            _text(body.get("enterprise_id")),
            _text(body.get("channel_id")),
            _text(body.get("channel_name")),
        )
    kind = body.get("type")
    if kind in _INTERACTIONS:
        user = _object(body.get("user"))
        user_id = _text(user.get("id"))
        if user_id is None:
            raise Malformed(f"{kind} without user")
        # A button on a message is answered through its response_url (one in a modal has none).
        on_message = _object(body.get("container")).get("type") != "view"
        if kind == "block_actions" and on_message and _text(body.get("response_url")) is None:
            raise Malformed("block_actions on a message without response_url")
        return Sender(
            user_id,
            _text(user.get("team_id")) or _text(_object(body.get("team")).get("id")),
            _text(_object(body.get("enterprise")).get("id")) or _text(body.get("enterprise_id")),
        )
    if kind == "event_callback":
        event = _object(body.get("event"))
        if event.get("type") == "user_change" and not _text(_object(event.get("user")).get("id")):
            raise Malformed("user_change without user")
    return None


CommandContextOpener = Callable[[], AbstractAsyncContextManager[CommandContext]]


class RequestContext(AsyncMiddleware):
    """Puts `slack`, `caller` and `command_context` in every request's context."""

    def __init__(self, slack: Slack) -> None:
        self.slack = slack

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        try:
            sender = sender_of(req.body) if isinstance(req.body, dict) else None
        except Malformed as exc:
            log.warning("refused a malformed Slack request (%s)", exc)
            return BoltResponse(status=400, body={"error": "malformed request"})
        try:
            home = await self.slack.pin.get()
        except Exception:
            log.exception("could not learn which Slack workspace is ours")
            return BoltResponse(status=503, body={"error": "not ready"})
        context = req.context
        context["slack"] = self.slack
        if sender is not None:
            caller = self.caller(home, sender)
            context["caller"] = caller
            context["command_context"] = self.opener(caller)
        return await next()

    def caller(self, home: Workspace, sender: Sender) -> Caller:
        return Caller(
            # Keyed by our workspace: a request naming another team never reaches the
            # identities of ours, and a person of another team is external (Directory.lookup).
            account=Account(PROVIDER, home.team_id, sender.user_id),
            lookup=self.slack.directory.lookup(
                sender.user_id, home, sender.team_id, sender.enterprise_id
            ),
            channel_id=sender.channel_id,
            channel_name=sender.channel_name,
        )

    def opener(self, caller: Caller) -> CommandContextOpener:
        slack = self.slack

        @asynccontextmanager
        async def command_context() -> AsyncIterator[CommandContext]:
            # The channel's name is asked of Slack before the transaction opens, so no
            # database connection waits on Slack for it.
            name = await slack.channel_name(caller.channel_id, caller.channel_name)
            async with slack.runtime.transaction() as session:
                yield await slack.command_context(session, caller, name)

        return command_context
