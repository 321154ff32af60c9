"""Sign-in with Microsoft Entra ID: msal's authorization-code flow with PKCE, for the Teams
bot's own single-tenant app registration.

msal blocks, so every call runs in a worker thread under a timeout, and its HTTP session gives
up on a stalled request. msal checks the state and the nonce; the ID token's signature, issuer
and audience are checked here (bot.web.auth.idtoken), as msal no longer does. The person is
keyed as a Teams click keys them (provider "teams", our tenant, their object id), so one person
is one identity whichever way they come.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from typing import Any

import httpx
import jwt
import msal
import requests

from bot.settings import Settings
from bot.teams.activity import PROVIDER
from bot.teams.connector import TIMEOUT_SECONDS, BoundedSession
from bot.web.auth.idtoken import IdTokenError, ProviderKeys, verify
from bot.web.auth.provider import SignedIn, SignInError, outside
from handlers.identity import Account, Profile
from store.models import Standing

log = logging.getLogger(__name__)

# The callback is a GET (response_mode=query): the sign-in cookie is SameSite=Lax, which a
# browser does not send with the cross-site POST of form_post. The code in the query is good
# once, and only with the PKCE verifier that never leaves the server's cookie.
warnings.filterwarnings("ignore", message="response_mode='form_post' is recommended")

# "email" asks for the email claim; msal adds openid, profile and offline_access itself.
SCOPES = ["email"]
# A thread's msal call: its own requests each give up after TIMEOUT_SECONDS.
CALL_SECONDS = 3 * TIMEOUT_SECONDS
# Kept from msal's flow in the cookie (the authorize URL it also holds is not needed again).
_FLOW_KEYS = ("state", "redirect_uri", "scope", "code_verifier", "nonce", "claims_challenge")


def profile_of(claims: dict[str, Any], our_tenant: str) -> Profile:
    """What the ID token says of a person of our tenant. Guests carry `acct` 1 where the app
    registration asks for that optional claim; without it, a B2B guest's UPN has #EXT#."""
    upn = str(claims.get("upn") or claims.get("preferred_username") or "")
    if "acct" in claims:
        guest = str(claims["acct"]) == "1"
    else:
        guest = "#EXT#" in upn.upper() or str(claims.get("tid", "")).lower() != our_tenant
    email = claims.get("email") or (upn if "@" in upn and "#EXT#" not in upn.upper() else None)
    return Profile.named(
        str(email) if email else None,
        Standing.GUEST if guest else Standing.MEMBER,
        str(claims.get("given_name") or ""),
        str(claims.get("family_name") or ""),
        str(claims.get("name") or ""),
    )


class EntraSignIn:
    name = "entra"
    label = "Microsoft"

    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.host = settings.microsoft_authority_host.rstrip("/")
        self.tenant = settings.microsoft_app_tenant_id
        self.keys = ProviderKeys(f"{self.host}/{self.tenant}/discovery/v2.0/keys", http)
        self._msal: msal.ConfidentialClientApplication | None = None
        self._lock = asyncio.Lock()

    def _make_msal(self) -> msal.ConfidentialClientApplication:
        s = self.settings
        http_client = BoundedSession()
        if s.microsoft_ca_bundle:
            http_client.trust_env = False
            http_client.verify = s.microsoft_ca_bundle
        return msal.ConfidentialClientApplication(
            s.microsoft_app_id,
            client_credential=s.microsoft_app_password,
            authority=f"{self.host}/{self.tenant}",
            http_client=http_client,
            instance_discovery=False,  # the authority is configured; nothing to discover
        )

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            async with asyncio.timeout(CALL_SECONDS):
                async with self._lock:
                    if self._msal is None:
                        self._msal = await asyncio.to_thread(self._make_msal)
                return await asyncio.to_thread(getattr(self._msal, method), *args, **kwargs)
        except (requests.RequestException, TimeoutError) as exc:
            raise SignInError(f"Entra ID did not answer ({type(exc).__name__})") from None

    async def close(self) -> None:
        await self.keys.http.aclose()

    async def begin(self, redirect_uri: str, choose_account: bool) -> tuple[str, dict[str, Any]]:
        flow = await self._call(
            "initiate_auth_code_flow",
            scopes=SCOPES,
            redirect_uri=redirect_uri,
            response_mode="query",
            prompt=msal.Prompt.SELECT_ACCOUNT if choose_account else None,
        )
        return flow["auth_uri"], {k: flow[k] for k in _FLOW_KEYS if k in flow}

    async def finish(
        self, flow: dict[str, Any], answer: dict[str, str], redirect_uri: str
    ) -> SignedIn:
        if flow.get("redirect_uri") != redirect_uri:
            raise SignInError("the sign-in began for another callback")
        try:
            result = await self._call("acquire_token_by_auth_code_flow", flow, answer)
        except ValueError:  # msal: the answer's state is not the flow's, or it is malformed
            raise SignInError("Entra ID's answer is not this sign-in's (state)") from None
        except RuntimeError:  # msal: the ID token's nonce is not the flow's
            raise SignInError("Entra ID's ID token is not this sign-in's (nonce)") from None
        if "id_token" not in result:
            # msal reports the token endpoint's refusal (a code used twice...) in the result.
            raise SignInError(f"Entra ID refused the code: {result.get('error')}")
        claims = await self._claims(result["id_token"])
        tenant = str(claims.get("tid", "")).lower()
        object_id = claims.get("oid")
        if not object_id:
            raise SignInError("the ID token names no object id")
        if tenant != self.tenant.lower():
            # Someone of another organisation: no identity of ours is theirs.
            account = Account(PROVIDER, tenant or "?", str(object_id))
            return SignedIn(account, outside, outsider=True)
        profile = profile_of(claims, self.tenant.lower())

        async def lookup() -> Profile:
            return profile

        return SignedIn(Account(PROVIDER, self.tenant, str(object_id)), lookup)

    async def _claims(self, id_token: str) -> dict[str, Any]:
        # Each tenant's tokens carry its own issuer; the tenant is checked after the signature.
        try:
            tenant = jwt.decode(id_token, options={"verify_signature": False}).get("tid", "")
            return await verify(
                id_token,
                self.keys,
                audience=self.settings.microsoft_app_id,
                issuer=f"{self.host}/{tenant}/v2.0",
                nonce=None,  # msal has compared it with the flow's
            )
        except (IdTokenError, jwt.PyJWTError) as exc:
            raise SignInError(str(exc)) from None
