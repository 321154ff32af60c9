"""Entra ID as a browser's sign-in meets it, over HTTPS on loopback: the authorize endpoint
(which signs in whoever the test names and sends the browser back with a code and the state),
the token endpoint's authorization-code grant (single-use codes, PKCE checked against the
challenge, an ID token signed by a test key with the nonce), the OpenID configuration and the
keys. Client-credential tokens for the Teams connector are answered as teams_standin does."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support.oidc_standin import Codes, SigningKey, back_to, pkce_challenge
from tests.support.teams_standin import APP_ID, CLOSE, OTHER_TENANT, TENANT, EntraId

__all__ = ["APP_ID", "OTHER_TENANT", "TENANT", "EntraSignIn", "person"]


def person(key: str, email: str | None = None, **claims: Any) -> dict[str, Any]:
    """The claims of someone signing in: object id `aad-{key}` in our tenant unless told."""
    upn = email or f"{key}@acme.test"
    base = {
        "oid": f"aad-{key}",
        "tid": TENANT,
        "preferred_username": upn,
        "name": f"{key.title()} Person",
        "given_name": key.title(),
        "family_name": "Person",
    }
    if email:
        base["email"] = email
    return base | claims


class EntraSignIn(EntraId):
    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.signing = SigningKey("entra-test-key")
        self.codes = Codes()
        self.signs_in: dict[str, Any] = person("ann", "ann@acme.test")
        self.wrong_nonce = False  # the next ID tokens carry another nonce
        self.authorize_requests: list[dict[str, str]] = []
        self.app.router.routes.extend(
            [
                Route("/{tenant}/oauth2/v2.0/authorize", self._authorize),
                Route("/{tenant}/discovery/v2.0/keys", self._keys),
            ]
        )

    async def _configuration(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        base = f"{self.url}/{tenant}"
        return JSONResponse(
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_types_supported": ["code"],
                "id_token_signing_alg_values_supported": ["RS256"],
            },
            headers=CLOSE,
        )

    async def _keys(self, request: Request) -> Response:
        return JSONResponse(self.signing.jwks, headers=CLOSE)

    async def _authorize(self, request: Request) -> Response:
        q = dict(request.query_params)
        self.authorize_requests.append(q)
        if q.get("client_id") != APP_ID or q.get("response_type") != "code":
            return JSONResponse({"error": "unauthorized_client"}, status_code=400)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return JSONResponse({"error": "invalid_request", "pkce": "required"}, status_code=400)
        code = self.codes.issue(
            {
                "redirect_uri": q["redirect_uri"],
                "challenge": q["code_challenge"],
                "nonce": q.get("nonce"),
                "claims": dict(self.signs_in),
            }
        )
        return RedirectResponse(back_to(q["redirect_uri"], code=code, state=q["state"]), 302)

    async def _token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        if form.get("grant_type") != "authorization_code":
            return await super()._token(request)
        if form.get("client_id") != APP_ID or form.get("client_secret") != "app-password":
            return JSONResponse({"error": "invalid_client"}, status_code=401, headers=CLOSE)
        grant = self.codes.redeem(form.get("code", ""))
        if grant is None:
            return _invalid_grant("AADSTS54005: the code was already redeemed")
        if grant["redirect_uri"] != form.get("redirect_uri"):
            return _invalid_grant("AADSTS50148: redirect_uri does not match")
        if pkce_challenge(form.get("code_verifier", "")) != grant["challenge"]:
            return _invalid_grant("AADSTS501481: the code_verifier does not match")
        claims = grant["claims"]
        tid = claims.get("tid", TENANT)
        id_token = self.signing.sign(
            {
                "iss": f"{self.url}/{tid}/v2.0",
                "aud": APP_ID,
                "sub": f"pairwise-{claims['oid']}",
                "ver": "2.0",
                "nonce": "not-yours" if self.wrong_nonce else grant["nonce"],
            }
            | claims
        )
        client_info = json.dumps({"uid": claims["oid"], "utid": tid}).encode()
        return JSONResponse(
            {
                "token_type": "Bearer",
                "scope": "openid profile email",
                "expires_in": 3600,
                "access_token": "graph-access-token",
                "id_token": id_token,
                "client_info": base64.urlsafe_b64encode(client_info).rstrip(b"=").decode(),
            },
            headers=CLOSE,
        )


def _invalid_grant(description: str) -> Response:
    return JSONResponse(
        {"error": "invalid_grant", "error_description": description},
        status_code=400,
        headers=CLOSE,
    )
