"""Checking an OpenID Connect ID token: its signature against the provider's published keys
(fetched with a timeout, kept, fetched again for a key id not seen), its issuer, audience, time
and nonce. msal no longer checks ID tokens itself, and Slack's come as plain strings."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import jwt

KEYS_SECONDS = 3600
# Clock differences between us and the provider.
LEEWAY_SECONDS = 120


class IdTokenError(Exception):
    """An ID token that is not the provider's, or not for this sign-in."""


class ProviderKeys:
    """A provider's JWKS, asked for at most once a minute when a token names an unknown key."""

    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self.url = url
        self.http = http
        self._keys: dict[str, Any] = {}
        self._fetched = 0.0
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None) -> Any:
        async with self._lock:
            stale = time.monotonic() - self._fetched > KEYS_SECONDS
            unknown = kid not in self._keys and time.monotonic() - self._fetched > 60
            if stale or unknown:
                await self._fetch()
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        found = self._keys.get(kid or "")
        if found is None:
            raise IdTokenError("signed with a key the provider does not publish")
        return found

    async def _fetch(self) -> None:
        try:
            response = await self.http.get(self.url)
            response.raise_for_status()
            keys = response.json()["keys"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise IdTokenError(
                f"could not read the provider's keys ({type(exc).__name__})"
            ) from None
        self._keys = {
            str(k.get("kid", "")): jwt.PyJWK.from_json(json.dumps(k)).key
            for k in keys
            if isinstance(k, dict) and k.get("kty") == "RSA"
        }
        self._fetched = time.monotonic()


async def verify(
    token: str, keys: ProviderKeys, *, audience: str, issuer: str, nonce: str | None
) -> dict[str, Any]:
    """The token's claims once every check holds; IdTokenError otherwise."""
    try:
        header = jwt.get_unverified_header(token)
        key = await keys.key(header.get("kid"))
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise IdTokenError(f"ID token refused ({type(exc).__name__})") from None
    if nonce is not None and claims.get("nonce") != nonce:
        raise IdTokenError("ID token is not for this sign-in (nonce)")
    return claims
