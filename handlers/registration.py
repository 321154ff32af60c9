"""Self-registration: a person outside the organisation types their name, email and a token
(seed 001) and is enrolled in the token's item.

Tokens are shared publicly, and anyone can type any address, so what the page answers and does
never depends on whether the address has an account (the join page's rule too):

- Someone new becomes a **prospect** user, is enrolled, and is sent an invitation email (through
  the outbox, in the same transaction) with a signed link that confirms their address and
  leads to the item.
- An address that already has an account (staff, client, a prospect, deactivated) is not
  enrolled and nothing about it is said: it is sent an email whose link enrols it when opened
  (handlers.registration_confirm), the person having shown they own the address. Seed 001's
  "they will be logged in and begin the training" is that link.
- The page's answer is the same for both: "check your email". Without a mail server nothing can
  be checked: a new person is registered and enrolled, a known address is left as it is, and
  one answer covers both.
- A deactivated token refuses with "this token is currently disabled"; unknown, mistyped and
  deleted tokens get one and the same answer.

Every sentence the registration page and the invitation email say is written here.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import audit, tokens, users
from handlers.alert_message import INVITATION
from handlers.alerts import email_destination
from handlers.enrol import Outcome, enrol
from handlers.registration_confirm import ACTOR
from handlers.registration_confirm import CONFIRM_DAYS as CONFIRM_DAYS
from handlers.registration_confirm import Confirmation as Confirmation
from handlers.registration_confirm import ConfirmClaims as ConfirmClaims
from handlers.registration_confirm import Confirmed as Confirmed
from handlers.registration_confirm import ConfirmSigner as ConfirmSigner
from handlers.registration_confirm import confirm as confirm
from handlers.registration_confirm import confirm_url as confirm_url
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


class Registered(enum.StrEnum):
    """What a registration did. INVITED and LINK_SENT are told alike, as are REGISTERED and
    UNCHECKED: the page must not say whether an address has an account."""

    INVITED = "invited"  # a new prospect, enrolled, with an invitation email on its way
    LINK_SENT = "link_sent"  # a known address, sent a link that enrols it when opened
    REGISTERED = "registered"  # a new prospect, enrolled; no email can be sent (SMTP is off)
    UNCHECKED = "unchecked"  # a known address, left as it is: no email to check it with
    TOKEN_UNKNOWN = "token_unknown"  # never existed, mistyped or deleted
    TOKEN_DISABLED = "token_disabled"

    @property
    def refused(self) -> bool:
        return self in _REFUSALS

    @property
    def emailed(self) -> bool:
        return self in (Registered.INVITED, Registered.LINK_SENT)


_REFUSALS = {Registered.TOKEN_UNKNOWN, Registered.TOKEN_DISABLED}

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
    """Register the applicant (whose fields have no problems): a new address is made a prospect
    and enrolled, an address with an account only emailed its link; the caller commits. The
    token is the code typed, or, from a registration button, the one `token_id` names; `by` is
    who registered there (the page, or a chat account)."""
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
    known = await users.find_by_email(session, organisation.id, email)
    if known is not None:
        return await _known(session, organisation, known, item, token, can_email, by, email)
    user = await _prospect(session, organisation, applicant, email)
    await enrol(
        session,
        organisation=organisation,
        user=user,
        item=item,
        source=EnrolmentSource.REGISTRATION,
        by=by,
        registration_token_id=token.id,
    )
    if can_email:
        _invite(session, organisation, user, item)
        return Registration(Registered.INVITED, item, user, email)
    return Registration(Registered.REGISTERED, item, user, email)


async def _known(
    session: AsyncSession,
    organisation: Organisation,
    user: User,
    item: CatalogItem,
    token: RegistrationToken,
    can_email: bool,
    by: str,
    email: str,
) -> Registration:
    """An address that has an account: nothing is enrolled or said until its owner opens the
    emailed link. The audit row keeps who asked (`by`), never as the account's own act."""
    if can_email:
        _invite(session, organisation, user, item, token)
    outcome = Registered.LINK_SENT if can_email else Registered.UNCHECKED
    await audit.record(
        session,
        organisation_id=organisation.id,
        action=f"register.{outcome.value}",
        actor=by,
        item_id=item.id,
        token_id=token.id,
        user_id=user.id,
    )
    return Registration(outcome, item, user, email)


async def _prospect(
    session: AsyncSession, organisation: Organisation, applicant: Applicant, email: str
) -> User:
    """A new prospect with this email. Two registrations of one new address at once: the
    database's unique index decides, and the second enrols the same person."""
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
    session: AsyncSession,
    organisation: Organisation,
    user: User,
    item: CatalogItem,
    token: RegistrationToken | None = None,
) -> None:
    """The email with the confirmation link, in the outbox with the registration: sent once it
    is committed. A known person's names the token, so that opening it enrols them. The link is
    signed when the email is sent, so no link is kept in the table."""
    payload = {
        "organisation_id": organisation.id,
        "organisation": organisation.name,
        "user_id": user.id,
        "email": user.email.lower(),
        "first_name": user.first_name,
        "item_id": item.id,
        "item": item.title,
    }
    if token is not None:
        payload["token_id"] = token.id
    session.add(
        OutboxMessage(
            organisation_id=organisation.id,
            kind=INVITATION,
            destination=email_destination(user.email),
            payload=payload,
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
