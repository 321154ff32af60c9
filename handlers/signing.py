"""The signed token behind every Enrol button and deep link.

itsdangerous signs [organisation, link id, per-link secret] with a timestamp. Several keys may be
configured, newest first: the newest signs, all of them verify, so keys rotate without breaking
buttons already posted.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

SLACK_BUTTON_VALUE_LIMIT = 2000
# Tokens whose signature was checked, kept so that the thousand clicks on one announcement's
# button check it once. Bounded: emptied when full.
VERIFIED_MAX = 4096


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
        self.keys = tuple(keys)  # newest first; other signed and keyed values use them too
        # itsdangerous wants oldest first and signs with the last one.
        self._serializer = URLSafeTimedSerializer(list(reversed(keys)), salt="enrolbot.link")
        self._max_age = max_age_seconds
        self._verified: dict[str, tuple[TokenClaims, float]] = {}

    def sign(self, organisation_id: int, link_id: int, secret: str) -> str:
        return self._serializer.dumps([organisation_id, link_id, secret])

    def read(self, token: str) -> TokenClaims | TokenProblem:
        """The token's claims if its signature holds, or what is wrong with it."""
        if not isinstance(token, str) or not token or len(token) > SLACK_BUTTON_VALUE_LIMIT:
            return TokenProblem.TAMPERED
        known = self._verified.get(token)
        if known is not None:
            claims, signed_at = known
            if self._max_age is not None and time.time() - signed_at > self._max_age:
                return TokenProblem.EXPIRED
            return claims
        try:
            payload, signed = self._serializer.loads(
                token, max_age=self._max_age, return_timestamp=True
            )
        except SignatureExpired:
            return TokenProblem.EXPIRED
        except BadData:
            return TokenProblem.TAMPERED
        match payload:
            case [int(org), int(link), str(secret)]:
                claims = TokenClaims(org, link, secret)
            case _:
                return TokenProblem.TAMPERED
        if len(self._verified) >= VERIFIED_MAX:
            self._verified.clear()
        self._verified[token] = (claims, signed.timestamp())
        return claims
