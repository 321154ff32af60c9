"""Sign in with Slack (OpenID Connect), for organisations that live in Slack.

The browser goes to SLACK_OPENID_URL's `authorize` with a state and a nonce kept in the
sign-in cookie; the code comes back and is redeemed with `openid.connect.token` on the Web API
(SLACK_API_URL), and the ID token is checked against SLACK_OPENID_URL's `keys`. Only our
workspace, and the other workspaces of our Enterprise Grid organisation, are accepted, and the
person is keyed and looked up exactly as a click on an Enrol button (bot.slack.middleware).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlencode

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError

from bot.slack.adapter import PROVIDER, Slack
from bot.slack.client import error_code, web_client
from bot.web.auth.idtoken import IdTokenError, ProviderKeys, verify
from bot.web.auth.provider import SignedIn, SignInError, outside
from handlers.identity import Account

ISSUER = "https://slack.com"
SCOPE = "openid email profile"
TEAM_CLAIM = "https://slack.com/team_id"
USER_CLAIM = "https://slack.com/user_id"
ENTERPRISE_CLAIM = "https://slack.com/enterprise_id"


class SlackSignIn:
    name = "slack"
    label = "Slack"

    def __init__(self, slack: Slack, http: httpx.AsyncClient) -> None:
        settings = slack.runtime.settings
        self.slack = slack
        self.client_id = settings.slack_client_id
        self.client_secret = settings.slack_client_secret
        base = settings.slack_openid_url.rstrip("/") + "/"
        self.authorize_url = base + "authorize"
        self.keys = ProviderKeys(base + "keys", http)
        # No bot token: openid.connect.token authenticates with the app's client credentials;
        # no retries, as a code is good once.
        self.client = web_client(
            "", settings.slack_api_url, retry=False, timeout=settings.slack_timeout_seconds
        )

    async def close(self) -> None:
        await self.keys.http.aclose()

    async def begin(self, redirect_uri: str, choose_account: bool) -> tuple[str, dict[str, Any]]:
        # Slack signs in whoever is signed in to our workspace in this browser; someone who
        # wants another account signs out of Slack there first.
        home = await self.slack.pin.get()
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        query = {
            "response_type": "code",
            "scope": SCOPE,
            "client_id": self.client_id,
            "state": state,
            "nonce": nonce,
            "redirect_uri": redirect_uri,
            "team": home.team_id,  # straight to our workspace's sign-in
        }
        flow = {"state": state, "nonce": nonce, "redirect_uri": redirect_uri}
        return f"{self.authorize_url}?{urlencode(query)}", flow

    async def finish(
        self, flow: dict[str, Any], answer: dict[str, str], redirect_uri: str
    ) -> SignedIn:
        if not hmac.compare_digest(str(flow.get("state", "")), answer.get("state", "")):
            raise SignInError("the callback's state is not this sign-in's")
        if flow.get("redirect_uri") != redirect_uri:
            raise SignInError("the sign-in began for another callback")
        if answer.get("error") or not answer.get("code"):
            raise SignInError(f"Slack answered {answer.get('error') or 'no code'}")
        try:
            token = await self.client.openid_connect_token(
                client_id=self.client_id,
                client_secret=self.client_secret,
                code=answer["code"],
                redirect_uri=redirect_uri,
            )
        except SlackApiError as exc:
            raise SignInError(f"Slack refused the code: {error_code(exc)}") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SignInError(f"Slack did not answer ({type(exc).__name__})") from None
        try:
            claims = await verify(
                str(token.get("id_token", "")),
                self.keys,
                audience=self.client_id,
                issuer=ISSUER,
                nonce=str(flow.get("nonce", "")),
            )
        except IdTokenError as exc:
            raise SignInError(str(exc)) from None
        return await self._person(claims)

    async def _person(self, claims: dict[str, Any]) -> SignedIn:
        user = str(claims.get(USER_CLAIM) or claims.get("sub") or "")
        team = claims.get(TEAM_CLAIM) or None
        enterprise = claims.get(ENTERPRISE_CLAIM) or None
        if not user:
            raise SignInError("the ID token names no user")
        home = await self.slack.pin.get()
        if not home.includes(team, enterprise):
            # Another company's workspace: none of our identities is theirs.
            return SignedIn(Account(PROVIDER, str(team or "?"), user), outside, outsider=True)
        # Keyed by our workspace, and asked of users.info, as a button click is.
        lookup = self.slack.directory.lookup(user, home, team, enterprise)
        return SignedIn(Account(PROVIDER, home.team_id, user), lookup)
