"""Self-registration: a person outside the organisation types their name, email and a token
(seed 001) and is enrolled in the token's item.

- Someone who is already a user is enrolled and told so, with the way to the item.
- Someone new becomes a **prospect** user, is enrolled, and is sent an invitation email (through
  the outbox, in the same transaction) with a signed link that confirms their address and
  leads to the item. A prospect who never confirmed gets a fresh invitation when they register
  again.
- A deactivated token refuses with "this token is currently disabled"; unknown, mistyped and
  deleted tokens get one and the same answer.

Every sentence the registration page and the invitation email say is written here.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import audit, tokens, users
from handlers.alert_message import INVITATION
from handlers.alerts import email_destination
from handlers.enrol import Outcome, enrol
from handlers.signing import LinkSigner
from store.models import (
    CatalogItem,
    EnrolmentSource,
    Organisation,
    OutboxMessage,
    RegistrationToken,
    User,
    UserStatus,
    UserType,
    utcnow,
)
from store.upsert import insert_ignoring_conflict

NAME_MAX = 100
FIELD_MAX = 320  # what the page reads of any field
CONFIRM_DAYS = 7
ACTOR = "registration page"


class Registered(enum.StrEnum):
    ENROLLED = "enrolled"  # a known person, enrolled now
    ALREADY_ENROLLED = "already_enrolled"
    ALREADY_COMPLETED = "already_completed"
    INVITED = "invited"  # a prospect, enrolled, with an invitation email on its way
    REGISTERED = "registered"  # a prospect, enrolled; no email can be sent (SMTP is off)
    TOKEN_UNKNOWN = "token_unknown"  # never existed, mistyped or deleted
    TOKEN_DISABLED = "token_disabled"
    USER_DEACTIVATED = "user_deactivated"

    @property
    def refused(self) -> bool:
        return self in _REFUSALS


_REFUSALS = {Registered.TOKEN_UNKNOWN, Registered.TOKEN_DISABLED, Registered.USER_DEACTIVATED}

# Who an Enrol button posted with a token offers registration to, instead of the refusal an
# internal link gives them: guests, people of other organisations, and prospects (seed 001).
# Members enrol through the button's internal link as with any other.
REGISTER_INSTEAD = frozenset({Outcome.GUEST, Outcome.EXTERNAL, Outcome.PROSPECT})


@dataclass(frozen=True)
class Applicant:
    """What a person typed on the registration page (or a form like it)."""

    first_name: str = ""
    last_name: str = ""
    email: str = ""
    token: str = ""

    @classmethod
    def of(cls, form: dict[str, str]) -> Applicant:
        """From submitted fields: each one line (control characters, which could forge lines in
        an email, become spaces), trimmed, and cut to what any field may hold."""
        return cls(
            **{
                f: " ".join(_CONTROL.sub(" ", str(form.get(f, ""))[:FIELD_MAX]).split())
                for f in _FIELDS
            }
        )


_FIELDS = ("first_name", "last_name", "email", "token")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


@dataclass(frozen=True)
class Registration:
    outcome: Registered
    item: CatalogItem | None = None
    user: User | None = None
    email: str = ""


def problems(applicant: Applicant, *, token_needed: bool = True) -> dict[str, str]:
    """What to correct before a registration can be tried, by field. A form that carries its
    token already (a registration button's modal) asks for none."""
    found = {}
    for name, value in (("first_name", applicant.first_name), ("last_name", applicant.last_name)):
        words = "first name" if name == "first_name" else "last name"
        if not value:
            found[name] = f"Enter your {words}."
        elif len(value) > NAME_MAX:
            found[name] = f"Keep your {words} to {NAME_MAX} characters."
    if users.normalise_email(applicant.email) is None:
        found["email"] = "Enter your email address, like name@example.com."
    if token_needed and not applicant.token:
        found["token"] = "Enter the token you were given, like ABCDE-FGHJK."
    return found


async def register(
    session: AsyncSession,
    *,
    signer: LinkSigner,
    organisation: Organisation,
    applicant: Applicant,
    can_email: bool,
    token_id: int | None = None,
    by: str = ACTOR,
) -> Registration:
    """Register and enrol the applicant (whose fields have no problems); the caller commits.
    The token is the code typed, or, from a registration button, the one `token_id` names;
    `by` is who registered there (the page, or a chat account)."""
    email = users.normalise_email(applicant.email)
    assert email is not None
    if token_id is None:
        check = await tokens.check_code(session, signer, applicant.token, organisation.id)
    else:
        check = await tokens.check_id(session, token_id, organisation.id)
    if check.state is not tokens.TokenState.OK:
        outcome = (
            Registered.TOKEN_DISABLED
            if check.state is tokens.TokenState.DISABLED
            else Registered.TOKEN_UNKNOWN
        )
        await _refused(session, organisation, outcome, check.item, check.token, by)
        return Registration(outcome, check.item, email=email)
    token, item = check.token, check.item
    assert token is not None and item is not None
    user = await _person(session, organisation, applicant, email)
    if user.status is UserStatus.DEACTIVATED:
        await _refused(session, organisation, Registered.USER_DEACTIVATED, item, token, by)
        return Registration(Registered.USER_DEACTIVATED, item, user, email)
    outcome = await enrol(
        session,
        organisation=organisation,
        user=user,
        item=item,
        source=EnrolmentSource.REGISTRATION,
        by=by,
        registration_token_id=token.id,
    )
    if user.type is UserType.PROSPECT and user.email_confirmed_at is None:
        if can_email:
            _invite(session, organisation, user, item)
            return Registration(Registered.INVITED, item, user, email)
        return Registration(Registered.REGISTERED, item, user, email)
    return Registration(_KNOWN[outcome], item, user, email)


_KNOWN = {
    Outcome.ENROLLED: Registered.ENROLLED,
    Outcome.ALREADY_ENROLLED: Registered.ALREADY_ENROLLED,
    Outcome.ALREADY_COMPLETED: Registered.ALREADY_COMPLETED,
}


async def _person(
    session: AsyncSession, organisation: Organisation, applicant: Applicant, email: str
) -> User:
    """The user with this email, or a new prospect. A known person's names are left as they
    are: anyone can type anything on a public page."""
    user = await users.find_by_email(session, organisation.id, email)
    if user is not None:
        return user
    # Two registrations of one address at once: the database's unique index decides.
    await insert_ignoring_conflict(
        session,
        User,
        {
            "organisation_id": organisation.id,
            "email": email,
            "first_name": applicant.first_name,
            "last_name": applicant.last_name,
            "type": UserType.PROSPECT,
            "status": UserStatus.ACTIVE,
            "created_at": utcnow(),
        },
    )
    user = await users.find_by_email(session, organisation.id, email)
    assert user is not None
    return user


def _invite(
    session: AsyncSession, organisation: Organisation, user: User, item: CatalogItem
) -> None:
    """The invitation email, in the outbox with the enrolment: sent once both are committed.
    The confirmation link is signed when the email is sent, so no link is kept in the table."""
    session.add(
        OutboxMessage(
            organisation_id=organisation.id,
            kind=INVITATION,
            destination=email_destination(user.email),
            payload={
                "organisation_id": organisation.id,
                "organisation": organisation.name,
                "user_id": user.id,
                "email": user.email.lower(),
                "first_name": user.first_name,
                "item_id": item.id,
                "item": item.title,
            },
            not_before=utcnow(),
            attempts=0,
        )
    )


async def _refused(
    session: AsyncSession,
    organisation: Organisation,
    outcome: Registered,
    item: CatalogItem | None,
    token: RegistrationToken | None,
    by: str = ACTOR,
) -> None:
    detail = {"token_id": token.id} if token is not None else {}
    await audit.record(
        session,
        organisation_id=organisation.id,
        action=f"register.{outcome.value}",
        actor=by,
        item_id=item.id if item else None,
        **detail,
    )


# The confirmation link -------------------------------------------------------------------------


class ConfirmProblem(enum.StrEnum):
    TAMPERED = "tampered"
    EXPIRED = "expired"


@dataclass(frozen=True)
class ConfirmClaims:
    organisation_id: int
    user_id: int
    email: str
    item_id: int


class ConfirmSigner:
    """Signs the link an invitation carries: who, which address, which item; for CONFIRM_DAYS.
    The same keys as links, newest first, so keys rotate without breaking emails on their way."""

    def __init__(self, keys: tuple[str, ...] | list[str], max_age_days: int = CONFIRM_DAYS):
        self._serializer = URLSafeTimedSerializer(
            list(reversed(keys)), salt="enrolbot.register-confirm"
        )
        self._max_age = max_age_days * 86400

    def sign(self, claims: ConfirmClaims) -> str:
        return self._serializer.dumps(
            [claims.organisation_id, claims.user_id, claims.email, claims.item_id]
        )

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
        return ConfirmProblem.TAMPERED


def confirm_url(public_url: str, signer: ConfirmSigner, payload: dict) -> str:
    """The link in an invitation email, from the invitation's outbox payload."""
    claims = ConfirmClaims(
        int(payload["organisation_id"]),
        int(payload["user_id"]),
        str(payload["email"]),
        int(payload["item_id"]),
    )
    return f"{public_url}/register/confirm?t={signer.sign(claims)}"


class Confirmed(enum.StrEnum):
    CONFIRMED = "confirmed"
    TAMPERED = "tampered"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Confirmation:
    outcome: Confirmed
    item: CatalogItem | None = None
    user: User | None = None


async def confirm(
    session: AsyncSession, signer: ConfirmSigner, organisation: Organisation, token: str
) -> Confirmation:
    """Mark the address in an invitation's link as confirmed (once; opening it again is fine)."""
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
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        await audit.record(
            session,
            organisation_id=organisation.id,
            action="register.email_confirmed",
            actor=ACTOR,
            actor_user_id=user.id,
            item_id=item.id,
        )
    return Confirmation(Confirmed.CONFIRMED, item, user)
