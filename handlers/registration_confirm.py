"""The link a registration emails (handlers.registration): opening it proves the person owns the
address, so only then does a known address learn anything or get enrolled.

- A new person's link (an invitation: they were made a prospect and enrolled when they
  registered) confirms their address.
- A known person's link carries the token they registered with: it confirms the address and
  enrols them through that token, as a registration (an external enrolment, alerts and all),
  and the page says where they stand, an earlier completion included.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import audit, tokens
from handlers.enrol import Outcome, enrol
from store.models import (
    CatalogItem,
    EnrolmentSource,
    Organisation,
    User,
    UserStatus,
    utcnow,
)

CONFIRM_DAYS = 7
ACTOR = "registration page"


class ConfirmProblem(enum.StrEnum):
    TAMPERED = "tampered"
    EXPIRED = "expired"


@dataclass(frozen=True)
class ConfirmClaims:
    organisation_id: int
    user_id: int
    email: str
    item_id: int
    token_id: int | None = None  # a known person's link: enrol through this token when opened


class ConfirmSigner:
    """Signs the link an invitation carries: who, which address, which item (and, for a known
    person, which token); for CONFIRM_DAYS. The same keys as links, newest first, so keys
    rotate without breaking emails on their way."""

    def __init__(self, keys: tuple[str, ...] | list[str], max_age_days: int = CONFIRM_DAYS):
        self._serializer = URLSafeTimedSerializer(
            list(reversed(keys)), salt="enrolbot.register-confirm"
        )
        self._max_age = max_age_days * 86400

    def sign(self, claims: ConfirmClaims) -> str:
        signed = [claims.organisation_id, claims.user_id, claims.email, claims.item_id]
        if claims.token_id is not None:
            signed.append(claims.token_id)
        return self._serializer.dumps(signed)

    def read(self, token: str) -> ConfirmClaims | ConfirmProblem:
        if not token or len(token) > 1000:
            return ConfirmProblem.TAMPERED
        try:
            payload = self._serializer.loads(token, max_age=self._max_age)
        except SignatureExpired:
            return ConfirmProblem.EXPIRED
        except BadData:
            return ConfirmProblem.TAMPERED
        match payload:
            case [int(org), int(user), str(email), int(item)]:
                return ConfirmClaims(org, user, email, item)
            case [int(org), int(user), str(email), int(item), int(token_id)]:
                return ConfirmClaims(org, user, email, item, token_id)
        return ConfirmProblem.TAMPERED


def confirm_url(public_url: str, signer: ConfirmSigner, payload: dict) -> str:
    """The link in a registration's email, from its outbox payload."""
    token_id = payload.get("token_id")
    claims = ConfirmClaims(
        int(payload["organisation_id"]),
        int(payload["user_id"]),
        str(payload["email"]),
        int(payload["item_id"]),
        int(token_id) if token_id is not None else None,
    )
    return f"{public_url}/register/confirm?t={signer.sign(claims)}"


class Confirmed(enum.StrEnum):
    CONFIRMED = "confirmed"
    TAMPERED = "tampered"
    EXPIRED = "expired"
    DEACTIVATED = "deactivated"  # the address's account is deactivated: nothing enrolled
    TOKEN_DISABLED = "token_disabled"  # switched off since the email was sent
    TOKEN_UNKNOWN = "token_unknown"  # deleted since


@dataclass(frozen=True)
class Confirmation:
    outcome: Confirmed
    item: CatalogItem | None = None
    user: User | None = None
    enrolled: Outcome | None = None  # a known person's link: what enrolling them did


async def confirm(
    session: AsyncSession, signer: ConfirmSigner, organisation: Organisation, token: str
) -> Confirmation:
    """Confirm the address in a registration's link (once; opening it again is fine) and, for a
    known person's link, enrol them through its token. The caller commits."""
    claims = signer.read(token)
    if isinstance(claims, ConfirmProblem):
        return Confirmation(Confirmed(claims.value))
    user = await session.get(User, claims.user_id)
    item = await session.get(CatalogItem, claims.item_id)
    if (
        user is None
        or item is None
        or claims.organisation_id != organisation.id
        or user.organisation_id != organisation.id
        or user.email.lower() != claims.email
    ):
        return Confirmation(Confirmed.TAMPERED)
    if user.status is UserStatus.DEACTIVATED:
        await _audit(session, organisation, "register.user_deactivated", user, item)
        return Confirmation(Confirmed.DEACTIVATED, item, user)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        await _audit(session, organisation, "register.email_confirmed", user, item)
    if claims.token_id is None:
        return Confirmation(Confirmed.CONFIRMED, item, user)
    check = await tokens.check_id(session, claims.token_id, organisation.id)
    if check.state is not tokens.TokenState.OK or check.item is None or check.item.id != item.id:
        disabled = check.state is tokens.TokenState.DISABLED
        outcome = Confirmed.TOKEN_DISABLED if disabled else Confirmed.TOKEN_UNKNOWN
        await _audit(session, organisation, f"register.{outcome.value}", user, item)
        return Confirmation(outcome, item, user)
    enrolled = await enrol(
        session,
        organisation=organisation,
        user=user,
        item=item,
        source=EnrolmentSource.REGISTRATION,
        by=ACTOR,
        registration_token_id=claims.token_id,
    )
    return Confirmation(Confirmed.CONFIRMED, item, user, enrolled)


async def _audit(
    session: AsyncSession, organisation: Organisation, action: str, user: User, item: CatalogItem
) -> None:
    await audit.record(
        session,
        organisation_id=organisation.id,
        action=action,
        actor=ACTOR,
        actor_user_id=user.id,
        item_id=item.id,
    )
