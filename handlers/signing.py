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

    @property
    def max_age_seconds(self) -> int | None:
        return self._max_age

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


REPORT_LINK_SECONDS = 15 * 60


@dataclass(frozen=True)
class ReportClaims:
    """What a report's download link names: whose report of what, and for whom."""

    organisation_id: int
    item_id: int
    user_type: str | None
    since: str | None  # an ISO date
    admin_user_id: int


class ReportLinkSigner:
    """A report's short-lived download link (Teams, which has no simple way to attach a file):
    signed with the same keys as links, under a salt of its own so neither verifies as the
    other, and good for REPORT_LINK_SECONDS. The report is made again when it is opened."""

    def __init__(self, keys: tuple[str, ...] | list[str], max_age: int = REPORT_LINK_SECONDS):
        self._serializer = URLSafeTimedSerializer(list(reversed(keys)), salt="enrolbot.report")
        self.max_age = max_age

    def sign(self, claims: ReportClaims) -> str:
        return self._serializer.dumps(
            [
                claims.organisation_id,
                claims.item_id,
                claims.user_type,
                claims.since,
                claims.admin_user_id,
            ]
        )

    def read(self, token: str) -> ReportClaims | TokenProblem:
        if not token or len(token) > SLACK_BUTTON_VALUE_LIMIT:
            return TokenProblem.TAMPERED
        try:
            payload = self._serializer.loads(token, max_age=self.max_age)
        except SignatureExpired:
            return TokenProblem.EXPIRED
        except BadData:
            return TokenProblem.TAMPERED
        match payload:
            case [int(org), int(item), str() | None as kind, str() | None as since, int(admin)]:
                return ReportClaims(org, item, kind, since, admin)
        return TokenProblem.TAMPERED


@dataclass(frozen=True)
class RegistrationRef:
    """What a registration button names: a self-registration token by its id, never its code,
    which only the admin who made it ever saw (the button's value is visible to Slack, Teams
    and anyone who reads the message's payload)."""

    organisation_id: int
    token_id: int


class RegistrationRefSigner:
    """Signs the reference an Enrol button posted with `post ITEM --token TOKEN` carries, and
    the /register link made from it: the same keys as links, under a salt of its own so
    neither verifies as the other, and as long-lived as links. Whether the token still works
    is the database's to say (handlers.tokens.check_id): deleting it kills every reference."""

    def __init__(self, keys: tuple[str, ...] | list[str], max_age_seconds: int | None = None):
        self._serializer = URLSafeTimedSerializer(
            list(reversed(keys)), salt="enrolbot.registration-ref"
        )
        self._max_age = max_age_seconds

    @classmethod
    def beside(cls, links: LinkSigner) -> RegistrationRefSigner:
        """The signer for registration references that goes with a link signer."""
        return cls(links.keys, links.max_age_seconds)

    def sign(self, ref: RegistrationRef) -> str:
        return self._serializer.dumps([ref.organisation_id, ref.token_id])

    def read(self, signed: str) -> RegistrationRef | TokenProblem:
        if not isinstance(signed, str) or not signed or len(signed) > 500:
            return TokenProblem.TAMPERED
        try:
            payload = self._serializer.loads(signed, max_age=self._max_age)
        except SignatureExpired:
            return TokenProblem.EXPIRED
        except BadData:
            return TokenProblem.TAMPERED
        match payload:
            case [int(org), int(token)]:
                return RegistrationRef(org, token)
        return TokenProblem.TAMPERED
