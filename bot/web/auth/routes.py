"""GET /auth/login and GET /auth/callback/{provider}: signing a browser in for deep links.

Login keeps the sign-in in flight in its own signed cookie and sends the browser to the
provider (or to a chooser, when both Entra ID and Slack are set up). The callback finishes the
sign-in once, identifies the person exactly as a click would, gives the browser a session
cookie naming that identity, and goes on to where the sign-in was asked from: only a path of
ours. Nothing here logs a code, a token or a cookie.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.runtime import Runtime
from bot.web.auth.provider import Provider, SignInError
from bot.web.auth.session import DEFAULT_NEXT, Cookies, safe_next
from bot.web.pages import render
from handlers import audit
from handlers.identity import Account
from handlers.links import check_token
from handlers.web_replies import (
    CHOOSE_SIGN_IN,
    NO_SIGN_IN,
    OTHER_ACCOUNT,
    OUTSIDER_SIGNED_IN,
    SIGN_IN_FAILED,
    SIGN_IN_USED,
    SIGNED_IN,
    WENT_WRONG,
    WebPage,
)

if TYPE_CHECKING:
    from bot.slack.adapter import Slack

log = logging.getLogger(__name__)

KEYS_TIMEOUT_SECONDS = 10

# Pages about a sign-in or a link: nobody keeps a copy, and no Referer carries a token on.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def show(page: WebPage, status_code: int = 200) -> Response:
    return render(
        "page.html",
        status_code=status_code,
        headers=PRIVATE,
        page=page,
        other_account=OTHER_ACCOUNT,
    )


async def answered(work: Awaitable[Response], what: str) -> Response:
    """`work`'s page, or, when something on our side fails (the database, a provider's
    directory), a page saying so rather than a bare 500."""
    try:
        return await work
    except Exception:
        log.exception("%s failed", what)
        return show(WENT_WRONG, 500)


def login_path(next_path: str, *, choose_account: bool = False) -> str:
    """Sign-in, then `next_path`; with `choose_account`, the provider asks which account."""
    path = f"/auth/login?next={quote(next_path, safe='/')}"
    return path + "&account=choose" if choose_account else path


class SignIn:
    def __init__(self, runtime: Runtime, providers: list[Provider]) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.providers = {p.name: p for p in providers}
        self.cookies = Cookies(settings.secret_keys, secure=settings.secure_cookies)
        self.public_url = settings.public_url

    def routes(self) -> list[Route]:
        return [
            Route("/auth/login", self.login, methods=["GET"]),
            Route("/auth/callback/{provider}", self.callback, methods=["GET"]),
            Route(DEFAULT_NEXT, self.signed_in, methods=["GET"]),
        ]

    async def close(self) -> None:
        for provider in self.providers.values():
            await provider.close()

    def _redirect_uri(self, name: str) -> str:
        return f"{self.public_url}/auth/callback/{name}"

    async def signed_in(self, request: Request) -> Response:
        """Where a sign-in that named nowhere of ours to go on to ends."""
        return show(SIGNED_IN)

    async def login(self, request: Request) -> Response:
        return await answered(self._login(request), "starting a sign-in")

    async def _login(self, request: Request) -> Response:
        next_path = safe_next(request.query_params.get("next"))
        if not self.providers:
            return show(NO_SIGN_IN, 503)
        name = request.query_params.get("provider")
        if name is None and len(self.providers) == 1:
            name = next(iter(self.providers))
        provider = self.providers.get(name or "")
        choose = request.query_params.get("account") == "choose"
        if provider is None:
            choices = [
                (
                    f"Sign in with {p.label}",
                    f"{login_path(next_path, choose_account=choose)}&provider={p.name}",
                )
                for p in self.providers.values()
            ]
            return render("signin.html", headers=PRIVATE, page=CHOOSE_SIGN_IN, choices=choices)
        try:
            url, flow = await provider.begin(self._redirect_uri(provider.name), choose)
        except SignInError as exc:
            log.warning("could not start sign-in with %s: %s", provider.name, exc)
            return show(SIGN_IN_FAILED, 502)
        response = RedirectResponse(url, status_code=302)
        self.cookies.start_flow(response, {"provider": provider.name, "next": next_path, **flow})
        return response

    async def callback(self, request: Request) -> Response:
        name = request.path_params["provider"]
        provider = self.providers.get(name)
        flow = self.cookies.flow(request)
        if provider is None or flow is None or flow.get("provider") != name:
            # No sign-in in flight here: the callback was replayed, or took too long.
            response = show(SIGN_IN_USED, 400)
        else:
            answer = dict(request.query_params)
            response = await answered(self._finish(provider, flow, answer), "a sign-in")
        self.cookies.end_flow(response)  # a sign-in finishes once, whatever happened
        return response

    async def _finish(self, provider: Provider, flow: dict, answer: dict[str, str]) -> Response:
        try:
            signed = await provider.finish(flow, answer, self._redirect_uri(provider.name))
        except SignInError as exc:
            log.warning("refused a sign-in with %s: %s", provider.name, exc)
            return show(SIGN_IN_FAILED, 400)
        if signed.outsider:
            log.info("refused a sign-in with %s from outside: %s", provider.name, signed.account)
            await self._record_outsider(signed.account, safe_next(flow.get("next")))
            return show(OUTSIDER_SIGNED_IN, 403)
        identity_id = await self.runtime.sign_in(signed.account, signed.lookup)
        response = RedirectResponse(safe_next(flow.get("next")), status_code=303)
        self.cookies.start_session(response, identity_id)
        return response

    async def _record_outsider(self, account: Account, next_path: str) -> None:
        """Someone of another organisation signed in to open a link: recorded as a click of
        theirs on that link's button would be, and nothing else of theirs is kept."""
        token = next_path.removeprefix("/enrol/") if next_path.startswith("/enrol/") else None
        async with self.runtime.transaction() as session:
            org = await self.runtime.organisation(session)
            check = (
                await check_token(session, self.runtime.signer, token, org.id) if token else None
            )
            await audit.record(
                session,
                organisation_id=org.id,
                action="enrol.external",
                actor=str(account),
                item_id=check.item.id if check and check.item else None,
                link_id=check.link_id if check else None,
                channel="browser",  # as bot.web.deeplink records its own
            )


def sign_in_for(runtime: Runtime, slack: Slack | None) -> SignIn:
    """The providers the settings turn on: Entra ID with the Teams bot's app registration,
    Sign in with Slack with the Slack app's client credentials beside its bot token."""
    settings = runtime.settings
    providers: list[Provider] = []
    if settings.entra_signin_enabled:
        from bot.web.auth.entra import EntraSignIn  # msal: imported only when on

        ca = settings.microsoft_ca_bundle
        verify = ssl.create_default_context(cafile=ca) if ca else True
        http = httpx.AsyncClient(timeout=KEYS_TIMEOUT_SECONDS, verify=verify)
        providers.append(EntraSignIn(settings, http))
    if settings.slack_signin_enabled and slack is not None:
        from bot.web.auth.slack_oidc import SlackSignIn

        http = httpx.AsyncClient(timeout=settings.slack_timeout_seconds)
        providers.append(SlackSignIn(slack, http))
    return SignIn(runtime, providers)
