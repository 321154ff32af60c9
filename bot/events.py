"""The outbox channels of enrolment events: signed webhooks always (endpoints are added at any
time with `enrolbot webhook add`), and xAPI statements when XAPI_ENDPOINT is set."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import httpx

from bot.runtime import Runtime
from bot.webhooks import webhook_channel
from bot.xapi import xapi_channel
from handlers.events import WEBHOOK, XAPI
from handlers.outbox import Channel
from store.models import utcnow


def event_channels(
    runtime: Runtime, http: httpx.AsyncClient, clock: Callable[[], datetime] = utcnow
) -> dict[str, Channel]:
    settings = runtime.settings
    common = {
        "timeout": settings.webhook_timeout_seconds,
        "pause_after": timedelta(hours=settings.webhook_pause_after_hours),
        "bootstrap_admins": settings.admin_emails,
        "clock": clock,
    }
    channels = {WEBHOOK: webhook_channel(runtime.sessions, http, **common)}
    if settings.xapi_enabled:
        channels[XAPI] = xapi_channel(
            runtime.sessions,
            http,
            username=settings.xapi_username,
            password=settings.xapi_password,
            public_url=settings.public_url,
            **common,
        )
    return channels
