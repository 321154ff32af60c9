"""The ASGI application: one Starlette app with a route per caller (see docs/architecture.md)."""

from __future__ import annotations

import gc
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from bot import metrics  # noqa: F401  (registers the product's metrics for /metrics)
from bot.api.app import Api
from bot.directory_sync import directory_sources, sync_directory
from bot.email import EmailDelivery, SmtpSettings
from bot.events import event_channels, moodle_connector
from bot.foreground import CountRequests
from bot.log_limits import limit_repeated_warnings
from bot.moodle.poll import CompletionPoll
from bot.runtime import Runtime
from bot.scheduler import Jobs, Runner, service_jobs
from bot.settings import Settings, load_settings
from bot.web import health, invite_pages, pages, register, reports
from bot.web.auth.routes import SignIn, sign_in_for
from bot.web.deeplink import DeepLinks
from bot.web.limits import BodySizeLimit
from handlers import webhooks
from handlers.api import idempotency
from handlers.invitations import InviteSigner, invite_url
from handlers.join import JoinSigner
from handlers.join import confirm_url as join_confirm_url
from handlers.moodle import queue as moodle_queue
from handlers.moodle.site import sync_site
from handlers.organisations import default_organisation
from handlers.outbox import Channel, Delivery
from handlers.registration import ConfirmSigner, confirm_url
from handlers.reminders.jobs import run_all
from handlers.rules.follow import Follower
from handlers.rules.periods import run_periods
from handlers.rules.reconcile import reconcile
from store.db import sqlite_path
from store.models import utcnow

if TYPE_CHECKING:  # imported at start only when their platform is on
    from bot.slack.app import SlackEndpoint
    from bot.teams.endpoint import TeamsEndpoint

log = logging.getLogger(__name__)


class RedactLinkTokens(logging.Filter):
    """Access logs name every path; a deep link's or a report download's path holds a signed
    token, which is as good as the link itself, so it is cut out before anything is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(a) if isinstance(a, str) else a for a in record.args)
        return True


_TOKEN_PATH = re.compile(r"/(enrol|reports|invite|join)/[^\s?\"]+")
# A registration code in /register?token=..., a registration button's signed /register?ref=...,
# and an invitation's signed /register/confirm?t=...
_TOKEN_QUERY = re.compile(r"([?&](?:token|ref|t)=)[^\s&\"#]+")
# A sign-in's callback carries its code and state, and its login the link it came from.
_AUTH_QUERY = re.compile(r"(/auth/[^\s?\"]*)\?[^\s\"]*")


def _redact(text: str) -> str:
    text = _AUTH_QUERY.sub(r"\1?…", text)
    return _TOKEN_QUERY.sub(r"\1…", _TOKEN_PATH.sub(r"/\1/…", text))


def create_app(settings: Settings) -> Starlette:
    _keep_secrets_out_of_logs()
    runtime = Runtime.start(settings)
    platforms = Platforms.start(runtime)
    sign_in = sign_in_for(runtime, platforms.slack.slack if platforms.slack else None)
    delivery = Delivery(
        runtime.foreground.background(runtime.sessions),
        _outbox_channels(runtime, platforms),
        lease_seconds=settings.delivery_lease_seconds,
    )
    runtime.directory_sources = sources = directory_sources(runtime, platforms)
    jobs = _jobs(runtime, delivery, platforms, nightly=len(sources) > 0)
    scheduler = Runner(runtime.sessions, jobs)
    app = Starlette(
        routes=_routes(sign_in)
        + platforms.routes()
        + _scim_routes(runtime)
        + Api(runtime).routes(),
        lifespan=_lifespan(runtime, platforms, sign_in, delivery, scheduler),
        middleware=[
            Middleware(CountRequests, foreground=runtime.foreground),
            Middleware(BodySizeLimit),
        ],
    )
    app.state.runtime = runtime
    app.state.delivery = delivery
    app.state.register_page = register.RegisterPage.start(
        runtime.signer.keys,
        settings.public_url,
        settings.register_limit_address,
        settings.register_limit_token,
    )
    app.state.invite_pages = invite_pages.InvitePages.start(
        runtime.signer.keys, settings.public_url, settings.register_limit_address
    )
    return app


def _keep_secrets_out_of_logs() -> None:
    # These libraries' DEBUG lines carry request and message bodies, Enrol button tokens
    # included, and httpx's INFO lines carry every URL: they stay out of the logs even when
    # an operator turns DEBUG on for the rest.
    for noisy in ("slack_sdk", "slack_bolt", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactLinkTokens) for f in access.filters):
        access.addFilter(RedactLinkTokens())


def _routes(sign_in: SignIn) -> list[Route]:
    """What the service answers whichever platforms are on."""
    return [
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/metrics", health.metrics, methods=["GET"]),
        Route("/enrol/{token}", DeepLinks(sign_in).enrol_page, methods=["GET"]),
        *sign_in.routes(),
        Route("/reports/{token}", reports.download, methods=["GET"]),
        Route("/register", register.register_page, methods=["GET", "POST"]),
        Route("/register/confirm", register.confirm_page, methods=["GET"]),
        Route("/invite/{token}", invite_pages.invite_page, methods=["GET", "POST"]),
        Route("/join/confirm", invite_pages.join_confirm, methods=["GET"]),
        Route("/join/{path}", invite_pages.join_page, methods=["GET", "POST"]),
        Route("/privacy", pages.privacy, methods=["GET"]),
        Route("/terms", pages.terms, methods=["GET"]),
    ]


def _scim_routes(runtime: Runtime) -> list:
    """/scim/v2 when a token is set; otherwise it answers 404, as any unknown path."""
    tokens = runtime.settings.scim_tokens
    if not tokens:
        return []
    from bot.scim.routes import scim_routes  # scim2-models costs start-up time when off

    return scim_routes(runtime, tokens)


@dataclass
class Platforms:
    """The chat platforms the settings turn on: their endpoints, and what closes with them."""

    slack: SlackEndpoint | None = None
    teams: TeamsEndpoint | None = None
    teams_http: httpx.AsyncClient | None = None
    # Webhook receivers and the LRS: each request carries its own timeout (bot/webhooks.py).
    events_http: httpx.AsyncClient = field(default_factory=httpx.AsyncClient)

    @classmethod
    def start(cls, runtime: Runtime) -> Platforms:
        platforms = cls()
        settings = runtime.settings
        if settings.slack_enabled:
            from bot.slack.app import SlackEndpoint

            platforms.slack = SlackEndpoint(runtime)
        else:
            log.info("Slack is off: set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN to turn it on")
        if settings.teams_enabled:
            platforms.teams_http = httpx.AsyncClient(timeout=10)
            platforms.teams = _teams_endpoint(runtime, platforms.teams_http)
        else:
            log.info("Teams is off: set the MICROSOFT_APP_* settings to turn it on")
        return platforms

    def routes(self) -> list[Route]:
        routes = []
        if self.slack:
            routes.append(Route("/slack/events", self.slack.events, methods=["POST"]))
        if self.teams:
            routes.append(Route("/api/messages", self.teams.messages, methods=["POST"]))
        return routes

    async def open(self) -> None:
        if self.slack:
            await self.slack.start()

    async def close(self) -> None:
        if self.slack:
            await self.slack.close()
        if self.teams_http:
            await self.teams_http.aclose()
        await self.events_http.aclose()


def _teams_endpoint(runtime: Runtime, http: httpx.AsyncClient) -> TeamsEndpoint:
    # Imported only when on: msal and its HTTP stack cost start-up time.
    from bot.teams.auth import BotFrameworkAuth
    from bot.teams.connector import Connector
    from bot.teams.endpoint import TeamsEndpoint

    settings = runtime.settings
    auth = BotFrameworkAuth(settings.microsoft_app_id, settings.botframework_openid_metadata, http)
    return TeamsEndpoint(runtime, auth, Connector(settings, http))


def _outbox_channels(runtime: Runtime, platforms: Platforms) -> dict[str, Channel]:
    """How the outbox reaches each kind of destination that is configured."""
    settings = runtime.settings
    channels: dict[str, Channel] = {}
    if platforms.slack:
        channels["slack"] = platforms.slack.delivery_channel()
    if platforms.teams:
        from bot.teams.delivery import MAX_BATCH, TeamsDelivery

        teams = TeamsDelivery(platforms.teams.connector, runtime.sessions)
        channels["teams"] = Channel(teams.send, MAX_BATCH)
    if settings.smtp_url:
        confirm = ConfirmSigner(runtime.signer.keys)
        invites = InviteSigner(runtime.signer.keys)
        joins = JoinSigner(runtime.signer.keys)

        def invitation_link(payload: dict) -> str:
            if "invitation_id" in payload:
                return invite_url(settings.public_url, invites, payload)
            if "path" in payload:
                return join_confirm_url(settings.public_url, joins, payload)
            return confirm_url(settings.public_url, confirm, payload)

        email = EmailDelivery(SmtpSettings(settings.smtp_url), invitation_link)
        channels["email"] = Channel(email.send, 200)
    channels.update(event_channels(runtime, platforms.events_http))
    return channels


async def _sync_outbound(runtime: Runtime, session: AsyncSession) -> None:
    # Not runtime.organisation: start-up must not fill its cache, or what an admin changes in
    # the first seconds after a start (`enrolbot org set`) would wait for the cache to expire.
    org = await default_organisation(session)
    await webhooks.sync_xapi(session, org.id, runtime.settings.xapi_endpoint or None)
    # Secrets kept in plain text before sealing began are sealed; old keys' moved to the newest.
    await webhooks.seal_secrets(session, runtime.settings.secret_keys)
    if await sync_site(session, org.id, runtime.settings.moodle_url or None):
        queued = await moodle_queue.backfill_site(session, org.id, utcnow())
        log.info("Moodle site newly set: %d enrolments in mapped courses queued for it", queued)


def _jobs(runtime: Runtime, delivery: Delivery, platforms: Platforms, *, nightly: bool) -> Jobs:
    settings = runtime.settings
    moodle = moodle_connector(runtime, platforms.events_http)
    return service_jobs(
        delivery=delivery,
        delivery_seconds=settings.delivery_seconds,
        delivery_lease_seconds=settings.delivery_lease_seconds,
        sqlite_file=sqlite_path(runtime.engine),
        sweep_clicks=runtime.clicks.sweep if runtime.clicks.sweeps else None,
        directory_sync=_nightly_sync(runtime) if nightly else None,
        rules_follow=Follower(runtime.sessions).follow,
        rules_reconcile=_nightly_reconcile(runtime),
        api_purge=_api_purge(runtime),
        rule_periods=_daily_periods(runtime),
        moodle_poll=CompletionPoll(moodle, settings.moodle_poll_batch).run if moodle else None,
        moodle_poll_seconds=settings.moodle_poll_seconds,
        reminders=_reminders(runtime),
        home_refresh=platforms.slack.slack.home.republish_due if platforms.slack else None,
    )


def _reminders(runtime: Runtime) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        for line in await run_all(runtime.sessions, utcnow()):
            if not line.startswith(
                ("queued:", "held:", "summary:")
            ):  # the counts; no one's address
                log.info("%s", line)

    return run


def _api_purge(runtime: Runtime) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        gone = await runtime.transact(lambda s: idempotency.purge(s, utcnow()))
        if gone:
            log.info("api: forgot %d Idempotency-Key answers over a week old", gone)

    return run


def _daily_periods(runtime: Runtime) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        done = await run_periods(runtime.sessions)
        if done.opened or done.revealed:
            log.info("rule periods: %s", done.describe())

    return run


def _nightly_reconcile(runtime: Runtime) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        for done in await reconcile(runtime.sessions):
            if done.enrolled or done.withdrawn:
                log.info("rules reconcile: %s", done.describe())

    return run


def _nightly_sync(runtime: Runtime) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        assert runtime.directory_sources is not None
        for line in await sync_directory(runtime, runtime.directory_sources):
            log.info("directory sync: %s", line)

    return run


Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


def _lifespan(
    runtime: Runtime, platforms: Platforms, sign_in: SignIn, delivery: Delivery, scheduler: Runner
) -> Lifespan:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await platforms.open()
        await runtime.transact(lambda s: _sync_outbound(runtime, s))
        if scheduler.jobs:
            scheduler.start()
        # What start-up made lives as long as the process: keep it out of the collector's
        # full passes, which otherwise pause every request now and then.
        gc.freeze()
        yield
        if scheduler.jobs:
            await scheduler.stop()
        await delivery.close()
        await sign_in.close()
        await platforms.close()
        await runtime.close()

    return lifespan


def app_from_environment() -> Starlette:
    """The factory uvicorn's workers call: each worker process builds its own app."""
    if not logging.getLogger().handlers:  # a worker process starts with no logging set up
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    # Anyone can make the bot warn (bad tokens, broken requests): each kind once a minute.
    limit_repeated_warnings("uvicorn", "uvicorn.access")
    return create_app(load_settings())
