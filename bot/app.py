"""The ASGI application: one Starlette app with a route per caller (see DESIGN.md)."""

from __future__ import annotations

import gc
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from bot import metrics  # noqa: F401  (registers the product's metrics for /metrics)
from bot.email import EmailDelivery, SmtpSettings
from bot.log_limits import limit_repeated_warnings
from bot.runtime import Runtime
from bot.scheduler import Runner, service_jobs
from bot.settings import Settings, load_settings
from bot.web import deeplink, health, pages
from bot.web.limits import BodySizeLimit
from handlers.outbox import Channel, Delivery
from store.db import sqlite_path

log = logging.getLogger(__name__)


class RedactLinkTokens(logging.Filter):
    """Access logs name every path; a deep link's path holds a signed token, which is as good
    as the link itself, so it is cut out before anything is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_PATH.sub("/enrol/…", a) if isinstance(a, str) else a for a in record.args
            )
        return True


_TOKEN_PATH = re.compile(r"/enrol/[^\s?\"]+")


def create_app(settings: Settings) -> Starlette:
    # These libraries' DEBUG lines carry request and message bodies, Enrol button tokens
    # included, and httpx's INFO lines carry every URL: they stay out of the logs even when
    # an operator turns DEBUG on for the rest.
    for noisy in ("slack_sdk", "slack_bolt", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactLinkTokens) for f in access.filters):
        access.addFilter(RedactLinkTokens())
    runtime = Runtime.start(settings)
    routes = [
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/metrics", health.metrics, methods=["GET"]),
        Route("/enrol/{token}", deeplink.enrol_page, methods=["GET"]),
        Route("/privacy", pages.privacy, methods=["GET"]),
        Route("/terms", pages.terms, methods=["GET"]),
    ]
    slack = None
    if settings.slack_enabled:
        from bot.slack.app import SlackEndpoint

        slack = SlackEndpoint(runtime)
        routes.append(Route("/slack/events", slack.events, methods=["POST"]))
    else:
        log.info("Slack is off: set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN to turn it on")
    teams_http = None
    teams = None
    if settings.teams_enabled:
        # Imported only when on: msal and its HTTP stack cost start-up time.
        from bot.teams.auth import BotFrameworkAuth
        from bot.teams.connector import Connector
        from bot.teams.endpoint import TeamsEndpoint

        teams_http = httpx.AsyncClient(timeout=10)
        connector = Connector(settings, teams_http)
        auth = BotFrameworkAuth(
            settings.microsoft_app_id, settings.botframework_openid_metadata, teams_http
        )
        teams = TeamsEndpoint(runtime, auth, connector)
        routes.append(Route("/api/messages", teams.messages, methods=["POST"]))
    else:
        log.info("Teams is off: set the MICROSOFT_APP_* settings to turn it on")

    channels: dict[str, Channel] = {}
    if slack:
        channels["slack"] = slack.delivery_channel()
    if teams:
        from bot.teams.delivery import MAX_BATCH, TeamsDelivery

        channels["teams"] = Channel(
            TeamsDelivery(teams.connector, runtime.sessions).send, MAX_BATCH
        )
    if settings.smtp_url:
        channels["email"] = Channel(EmailDelivery(SmtpSettings(settings.smtp_url)).send, 200)
    delivery = Delivery(runtime.sessions, channels, lease_seconds=settings.delivery_lease_seconds)
    jobs = service_jobs(
        delivery=delivery,
        delivery_seconds=settings.delivery_seconds,
        delivery_lease_seconds=settings.delivery_lease_seconds,
        sqlite_file=sqlite_path(runtime.engine),
        sweep_clicks=runtime.clicks.sweep if runtime.clicks.sweeps else None,
    )
    scheduler = Runner(runtime.sessions, jobs)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if slack:
            await slack.start()
        if jobs:
            scheduler.start()
        # What start-up made lives as long as the process: keep it out of the collector's
        # full passes, which otherwise pause every request now and then.
        gc.freeze()
        yield
        if jobs:
            await scheduler.stop()
        await delivery.close()
        if slack:
            await slack.close()
        if teams_http:
            await teams_http.aclose()
        await runtime.close()

    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(BodySizeLimit)])
    app.state.runtime = runtime
    app.state.delivery = delivery
    return app


def app_from_environment() -> Starlette:
    """The factory uvicorn's workers call: each worker process builds its own app."""
    if not logging.getLogger().handlers:  # a worker process starts with no logging set up
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    # Anyone can make the bot warn (bad tokens, broken requests): each kind once a minute.
    limit_repeated_warnings("uvicorn", "uvicorn.access")
    return create_app(load_settings())
