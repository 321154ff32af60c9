"""Is this request really from the Bot Framework? Every check Microsoft's token validators make
(botbuilder's ChannelValidation, the Teams SDK v2's TokenValidator), done with PyJWT:

- a Bearer JWT signed RS256 by a key the Bot Framework publishes (OpenID metadata, then JWKS),
  and, where the key lists them, endorsed for the activity's channel;
- issuer https://api.botframework.com, audience our app id, within its validity with 5 minutes'
  leeway;
- its `serviceurl` claim naming the service URL the activity says to answer on, so a token for
  one service cannot send our replies somewhere else.

Before any of that, the activity must say it comes from Teams (`channelId` "msteams") and name
a service URL on the Teams connector's hosts: a valid token for another Bot Framework channel
(Web Chat, Direct Line) could otherwise speak for anyone it likes, with our replies sent back to
a URL of its choosing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection
from urllib.parse import urlsplit

import httpx
import jwt

log = logging.getLogger(__name__)

ISSUER = "https://api.botframework.com"
LEEWAY_SECONDS = 300
KEYS_MAX_AGE = 24 * 3600
REFRESH_AT_MOST_EVERY = 60  # an unknown key id triggers a refresh, but forged ids can't hammer it


class AuthError(Exception):
    """Why a request was refused; logged, never shown to the caller."""


TEAMS = "msteams"


def not_from_teams(activity: object, hosts: Collection[str]) -> str | None:
    """Why an activity cannot be a Teams one (None when it can), checked before its token."""
    if not isinstance(activity, dict):
        return "not an activity"
    channel = activity.get("channelId")
    if channel != TEAMS:
        return f"channel {str(channel)[:40]!r} is not Teams"
    service_url = activity.get("serviceUrl")
    if not isinstance(service_url, str):
        return "no serviceUrl"
    try:
        host = (urlsplit(service_url).hostname or "").rstrip(".")
    except ValueError:
        host = ""
    if host not in hosts:
        return f"serviceUrl host {host[:80]!r} is not a Teams connector host"
    return None


class BotFrameworkAuth:
    def __init__(self, app_id: str, metadata_url: str, http: httpx.AsyncClient) -> None:
        self.app_id = app_id
        self.metadata_url = metadata_url
        self.http = http
        self._keys: dict[str, dict] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        metadata = (await self.http.get(self.metadata_url)).raise_for_status().json()
        jwks = (await self.http.get(metadata["jwks_uri"])).raise_for_status().json()
        self._keys = {k["kid"]: k for k in jwks.get("keys", []) if "kid" in k}
        self._fetched_at = time.monotonic()

    async def _key(self, kid: str) -> dict | None:
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            if age > KEYS_MAX_AGE or (kid not in self._keys and age > REFRESH_AT_MOST_EVERY):
                await self._refresh()
        return self._keys.get(kid)

    async def verify(self, authorization: str | None, activity: dict) -> dict:
        """The token's claims, or AuthError."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthError("no Bearer token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthError(f"malformed token: {exc}") from None
        if header.get("alg") != "RS256":
            raise AuthError(f"algorithm {header.get('alg')!r} is not RS256")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise AuthError("token names no key")
        try:
            jwk = await self._key(kid)
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise AuthError(f"signing keys unavailable: {type(exc).__name__}") from None
        if jwk is None:
            raise AuthError("token signed by a key the Bot Framework does not publish")
        channel = activity.get("channelId")
        endorsements = jwk.get("endorsements")
        if channel and endorsements and channel not in endorsements:
            raise AuthError(f"key not endorsed for channel {channel!r}")
        try:
            claims = jwt.decode(
                token,
                jwt.PyJWK.from_dict(jwk, algorithm="RS256").key,
                algorithms=["RS256"],
                audience=self.app_id,
                issuer=ISSUER,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthError(f"token refused: {exc}") from None
        service_url = str(activity.get("serviceUrl") or "")
        if str(claims.get("serviceurl") or "").rstrip("/") != service_url.rstrip("/"):
            raise AuthError("serviceurl claim does not match the activity's serviceUrl")
        return claims
