"""The signed token behind every Enrol button and deep link.

itsdangerous signs [organisation, link id, per-link secret] with a timestamp. Several keys may be
configured, newest first: the newest signs, all of them verify, so keys rotate without breaking
buttons already posted.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

SLACK_BUTTON_VALUE_LIMIT = 2000


class TokenProblem(enum.StrEnum):
    TAMPERED = "tampered"
    EXPIRED = "expired"


@dataclass(frozen=True)
class TokenClaims:
    organisation_id: int
    link_id: int
    secret: str


class LinkSigner:
    def __init__(self, keys: list[str], max_age_seconds: int | None = None) -> None:
        if not keys:
            raise ValueError("at least one signing key is needed")
        # itsdangerous wants oldest first and signs with the last one.
        self._serializer = URLSafeTimedSerializer(list(reversed(keys)), salt="enrolbot.link")
        self._max_age = max_age_seconds

    def sign(self, organisation_id: int, link_id: int, secret: str) -> str:
        return self._serializer.dumps([organisation_id, link_id, secret])

    def read(self, token: str) -> TokenClaims | TokenProblem:
        """The token's claims if its signature holds, or what is wrong with it."""
        if not isinstance(token, str) or not token or len(token) > SLACK_BUTTON_VALUE_LIMIT:
            return TokenProblem.TAMPERED
        try:
            payload = self._serializer.loads(token, max_age=self._max_age)
        except SignatureExpired:
            return TokenProblem.EXPIRED
        except BadData:
            return TokenProblem.TAMPERED
        match payload:
            case [int(org), int(link), str(secret)]:
                return TokenClaims(org, link, secret)
        return TokenProblem.TAMPERED
