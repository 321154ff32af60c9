"""The Slack side: a Bolt AsyncApp behind POST /slack/events. Bolt checks every request's
signature and timestamp before any listener runs."""

from __future__ import annotations

import logging

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.runtime import Runtime
from bot.slack.adapter import Slack
from bot.slack.client import web_client
from bot.slack.delivery import MAX_BATCH, SlackDelivery
from bot.slack.listeners import actions, commands, events, views
from handlers.outbox import Channel

log = logging.getLogger(__name__)


class SlackEndpoint:
    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        timeout = settings.slack_timeout_seconds
        client = web_client(settings.slack_bot_token, settings.slack_api_url, timeout=timeout)
        self.slack = Slack(runtime, client)
        app = AsyncApp(
            signing_secret=settings.slack_signing_secret,
            client=client,
            logger=logging.getLogger("bot.slack.bolt"),
        )
        for listeners in (commands, actions, views, events):
            listeners.register(app, self.slack)
        self.handler = AsyncSlackRequestHandler(app)

        self.outbox_client = web_client(
            settings.slack_bot_token, settings.slack_api_url, retry=False, timeout=timeout
        )

    def delivery_channel(self) -> Channel:
        timeout = self.slack.runtime.settings.slack_timeout_seconds
        return Channel(SlackDelivery(self.outbox_client, timeout).send, MAX_BATCH, timeout + 1)

    async def start(self) -> None:
        await self.slack.replies.start()
        # One HTTP session for the Web API too, rather than one per call.
        self.slack.client.session = self.slack.replies.session
        self.outbox_client.session = self.slack.replies.session

    async def close(self) -> None:
        await self.slack.replies.close()

    async def events(self, request: Request) -> Response:
        try:
            return await self.handler.handle(request)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            # Bolt parses the body before checking its signature, and trusts its shape: a body
            # that is not Slack's form or JSON object is refused, not answered with a 500.
            log.warning("refused a malformed Slack request (%s)", type(exc).__name__)
            return JSONResponse({"error": "malformed request"}, status_code=400)
