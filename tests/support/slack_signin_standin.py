"""Sign in with Slack, standing in beside the Web API stand-in (tests/support/slack_standin.py)
on the same server: `/openid/connect/authorize` signs in whoever the test names and sends the
browser back with a code and the state, `openid.connect.token` redeems a code once for an ID
token signed by a test key with the nonce, and `/openid/connect/keys` publishes that key."""

from __future__ import annotations

import base64
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support.oidc_standin import Codes, SigningKey, back_to
from tests.support.slack_standin import TEAM, SlackStandIn

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "slack-client-secret"
ISSUER = "https://slack.com"


def slack_person(
    user: str, email: str, team: str = TEAM, enterprise: str | None = None
) -> dict[str, Any]:
    """What Slack's ID token says of `user`: their ids, team, and email."""
    first = user.removeprefix("U0").title()
    claims: dict[str, Any] = {
        "https://slack.com/user_id": user,
        "https://slack.com/team_id": team,
        "email": email,
        "email_verified": True,
        "name": f"{first} Person",
        "given_name": first,
        "family_name": "Person",
    }
    if enterprise:
        claims["https://slack.com/enterprise_id"] = enterprise
    return claims


class SlackSignIn:
    def __init__(self, slack: SlackStandIn) -> None:
        self.slack = slack
        self.signing = SigningKey("slack-test-key")
        self.codes = Codes()
        self.signs_in: dict[str, Any] = slack_person("U0ANN", "ann@acme.test")
        self.wrong_nonce = False
        self.authorize_requests: list[dict[str, str]] = []
        slack.app.router.routes.extend(
            [
                Route("/openid/connect/authorize", self._authorize),
                Route("/openid/connect/keys", self._keys),
            ]
        )
        slack.client_methods["openid.connect.token"] = self._token

    @property
    def url(self) -> str:
        return f"{self.slack.url}/openid/connect/"

    async def _keys(self, request: Request) -> Response:
        return JSONResponse(self.signing.jwks)

    async def _authorize(self, request: Request) -> Response:
        q = dict(request.query_params)
        self.authorize_requests.append(q)
        if q.get("client_id") != CLIENT_ID or "openid" not in q.get("scope", "").split():
            return JSONResponse({"ok": False, "error": "invalid_scope"}, status_code=400)
        code = self.codes.issue(
            {"redirect_uri": q["redirect_uri"], "nonce": q.get("nonce"), "claims": self.signs_in}
        )
        return RedirectResponse(back_to(q["redirect_uri"], code=code, state=q["state"]), 302)

    def _token(self, authorization: str, args: dict) -> dict:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != f"Basic {expected}":
            return {"ok": False, "error": "invalid_client_id"}
        grant = self.codes.redeem(args.get("code", ""))
        if grant is None:
            return {"ok": False, "error": "invalid_code"}
        if grant["redirect_uri"] != args.get("redirect_uri"):
            return {"ok": False, "error": "bad_redirect_uri"}
        claims = grant["claims"]
        id_token = self.signing.sign(
            {
                "iss": ISSUER,
                "aud": CLIENT_ID,
                "sub": claims["https://slack.com/user_id"],
                "auth_time": 0,
                "nonce": "not-yours" if self.wrong_nonce else grant["nonce"],
            }
            | claims
        )
        return {
            "ok": True,
            "access_token": "xoxp-signin",
            "token_type": "Bearer",
            "id_token": id_token,
        }
