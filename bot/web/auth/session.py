"""The two signed cookies of browser sign-in.

`enrolbot_session` holds the id of the identity that signed in, for SESSION_SECONDS. The
in-flight sign-in (state, nonce, PKCE verifier, where to go next) lives in `enrolbot_signin` for
FLOW_SECONDS and is cleared by the callback, so a callback replayed later finds nothing to
finish. Both are signed with ENROLBOT_SECRET_KEY's keys (newest signs, all verify); a tampered
or expired cookie reads as no cookie at all.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadData, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "enrolbot_session"
FLOW_COOKIE = "enrolbot_signin"
SESSION_SECONDS = 8 * 3600
FLOW_SECONDS = 10 * 60
# Where a sign-in may send the browser afterwards: a path of ours, nothing else.
DEFAULT_NEXT = "/auth/signed-in"
NEXT_MAX = 2500


def safe_next(value: str | None) -> str:
    """`value` if it is a relative path under this app, else DEFAULT_NEXT: `//evil.test`,
    `https://evil.test`, `/\\evil.test` and anything with a scheme or host are refused, so
    sign-in cannot be used to send someone elsewhere."""
    if not value or len(value) > NEXT_MAX or not value.startswith("/"):
        return DEFAULT_NEXT
    if value.startswith(("//", "/\\")) or any(c in value for c in "\\\r\n\t"):
        return DEFAULT_NEXT
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return DEFAULT_NEXT
    return value


class Cookies:
    def __init__(self, keys: list[str], *, secure: bool) -> None:
        oldest_first = list(reversed(keys))  # itsdangerous signs with the last key
        self._session = URLSafeTimedSerializer(oldest_first, salt="enrolbot.session")
        self._flow = URLSafeTimedSerializer(oldest_first, salt="enrolbot.signin")
        self.secure = secure

    # The session ---------------------------------------------------------------------------

    def identity_id(self, request: Request) -> int | None:
        value = self._read(self._session, request.cookies.get(SESSION_COOKIE), SESSION_SECONDS)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def start_session(self, response: Response, identity_id: int) -> None:
        self._set(response, SESSION_COOKIE, self._session.dumps(identity_id), SESSION_SECONDS, "/")

    # The sign-in in flight ------------------------------------------------------------------

    def flow(self, request: Request) -> dict[str, Any] | None:
        value = self._read(self._flow, request.cookies.get(FLOW_COOKIE), FLOW_SECONDS)
        return value if isinstance(value, dict) else None

    def start_flow(self, response: Response, flow: dict[str, Any]) -> None:
        self._set(response, FLOW_COOKIE, self._flow.dumps(flow), FLOW_SECONDS, "/auth/")

    def end_flow(self, response: Response) -> None:
        response.delete_cookie(
            FLOW_COOKIE, path="/auth/", secure=self.secure, httponly=True, samesite="lax"
        )

    def _set(self, response: Response, name: str, value: str, seconds: int, path: str) -> None:
        response.set_cookie(
            name,
            value,
            max_age=seconds,
            path=path,
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    @staticmethod
    def _read(serializer: URLSafeTimedSerializer, raw: str | None, seconds: int) -> Any:
        if not raw or len(raw) > 4096:
            return None
        try:
            return serializer.loads(raw, max_age=seconds)
        except BadData:  # tampered, signed with a retired key, or expired: no cookie
            return None
