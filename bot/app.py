"""The ASGI application: one Starlette app with a route per caller (see DESIGN.md)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import Route

from bot import metrics  # noqa: F401  (registers the product's metrics for /metrics)
from bot.email import EmailDelivery, SmtpSettings
from bot.runtime import Runtime
from bot.scheduler import Scheduler
from bot.settings import Settings, load_settings
from bot.web import deeplink, health
from handlers.outbox import Channel, Delivery

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> Starlette:
    runtime = Runtime.start(settings)
    routes = [
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/metrics", health.metrics, methods=["GET"]),
        Route("/enrol/{token}", deeplink.enrol_page, methods=["GET"]),
    ]
    slack = None
    if settings.slack_enabled:
        from bot.slack.app import SlackEndpoint

        slack = SlackEndpoint(runtime)
        routes.append(Route("/slack/events", slack.events, methods=["POST"]))
    else:
        log.info("Slack is off: set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN to turn it on")

    channels: dict[str, Channel] = {}
    if slack:
        channels["slack"] = slack.delivery_channel()
    if settings.smtp_url:
        channels["email"] = Channel(EmailDelivery(SmtpSettings(settings.smtp_url)).send, 200)
    delivery = Delivery(runtime.sessions, channels)
    scheduler = (
        Scheduler(delivery, settings.delivery_seconds) if settings.delivery_seconds else None
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if slack:
            await slack.start()
        if scheduler:
            scheduler.start()
        yield
        if scheduler:
            scheduler.stop()
        if slack:
            await slack.close()
        await runtime.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.delivery = delivery
    return app


def app_from_environment() -> Starlette:
    """The factory uvicorn's workers call: each worker process builds its own app."""
    return create_app(load_settings())
