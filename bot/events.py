"""The outbox channels of enrolment events: signed webhooks always (endpoints are added at any
time with `enrolbot webhook add`), xAPI statements when XAPI_ENDPOINT is set, and enrolments
pushed to the Moodle site of MOODLE_URL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import httpx

from bot.moodle.channel import moodle_channel
from bot.moodle.client import MoodleClient
from bot.moodle.connector import Connector
from bot.runtime import Runtime
from bot.webhooks import address_rules, webhook_channel
from bot.xapi import xapi_channel
from handlers.events import WEBHOOK, XAPI
from handlers.moodle.site import KIND as MOODLE
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
    channels = {
        WEBHOOK: webhook_channel(
            runtime.sessions,
            http,
            keys=settings.secret_keys,
            rules=address_rules(settings),
            **common,
        )
    }
    if settings.xapi_enabled:
        channels[XAPI] = xapi_channel(
            runtime.sessions,
            http,
            username=settings.xapi_username,
            password=settings.xapi_password,
            public_url=settings.public_url,
            **common,
        )
    connector = moodle_connector(runtime, http, clock)
    if connector:
        channels[MOODLE] = moodle_channel(connector)
    return channels


def moodle_connector(
    runtime: Runtime, http: httpx.AsyncClient, clock: Callable[[], datetime] = utcnow
) -> Connector | None:
    """The Moodle site of MOODLE_URL, when it is set: its pushes and completion poll."""
    settings = runtime.settings
    if not settings.moodle_enabled:
        return None
    client = MoodleClient(
        http, settings.moodle_url, settings.moodle_token, settings.moodle_timeout_seconds
    )
    return Connector(
        runtime.sessions,
        client,
        role_id=settings.moodle_student_role_id,
        bootstrap_admins=settings.admin_emails,
        clock=clock,
    )
