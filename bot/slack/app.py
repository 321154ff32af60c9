"""The Slack side: a Bolt AsyncApp behind POST /slack/events. Bolt checks every request's
signature and timestamp before any listener runs."""

from __future__ import annotations

import functools
import logging

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.runtime import Runtime
from bot.slack import listeners
from bot.slack.adapter import PROVIDER, Slack
from bot.slack.client import configured, web_client
from bot.slack.delivery import MAX_BATCH, SlackDelivery
from bot.slack.listeners import actions
from handlers.outbox import Channel

log = logging.getLogger(__name__)

TIMESTAMP_DIGITS = 12  # Unix seconds have 10 digits until the year 5138


class SlackEndpoint:
    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        timeout = settings.slack_timeout_seconds
        # Bolt is given the token, not a client: given a client, it warns at every start that
        # an exported SLACK_BOT_TOKEN "will be unused". The client it makes is then pointed at
        # our Web API URL, timeout and retries, and is the one client listeners use.
        # Bolt logs, and so does the client it makes, under slack_bolt: the app keeps that at
        # WARNING, as the client's DEBUG lines carry request bodies, Enrol tokens included.
        app = AsyncApp(
            signing_secret=settings.slack_signing_secret,
            token=settings.slack_bot_token,
            logger=logging.getLogger("slack_bolt.enrolbot"),
        )
        client = configured(app.client, settings.slack_api_url, timeout=timeout)
        self.slack = Slack(runtime, client)
        self.directory = self.slack.people  # the "slack" directory source (bot.directory_sync)
        listeners.register(app, self.slack)
        # Clicks acknowledged before a restart are finished as a click would be (bot.clicks).
        runtime.clicks.finish_with(PROVIDER, functools.partial(actions.finish, self.slack))
        self.handler = AsyncSlackRequestHandler(app)

        self.outbox_client = web_client(
            settings.slack_bot_token, settings.slack_api_url, retry=False, timeout=timeout
        )

    def delivery_channel(self) -> Channel:
        timeout = self.slack.runtime.settings.slack_timeout_seconds
        return Channel(SlackDelivery(self.outbox_client, timeout).send, MAX_BATCH, timeout + 1)

    async def start(self) -> None:
        await self.slack.replies.start()
        # One HTTP session for the Web API too, rather than one per call; its timeout is
        # SLACK_TIMEOUT_SECONDS.
        self.slack.client.session = self.slack.replies.session
        self.outbox_client.session = self.slack.replies.session
        await self.slack.pin.start()

    async def close(self) -> None:
        await self.slack.replies.close()

    async def events(self, request: Request) -> Response:
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        if timestamp and not (
            timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= TIMESTAMP_DIGITS
        ):
            # Bolt reads the header as an integer and fails with a 500 on anything else.
            return JSONResponse({"error": "invalid request timestamp"}, status_code=401)
        try:
            return await self.handler.handle(request)
        except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as exc:
            # Bolt parses the body before checking its signature, and trusts its shape: a body
            # that is not Slack's form or JSON object (or one nested too deep to parse) is
            # refused, not answered with a 500.
            log.warning("refused a malformed Slack request (%s)", type(exc).__name__)
            return JSONResponse({"error": "malformed request"}, status_code=400)
