"""Who is clicking: a platform account matched once to a portal user by verified email.

Accounts are keyed by the platform's stable ids (Slack team + user id, Entra tenant + object id),
never by display name. The platform's directory is asked once per person; what it said is kept,
so later clicks need no lookup. A refusal it gave (no email, a guest, unknown) is asked about
again once it is a minute old: the person may have fixed it, or the answer was a passing fault.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import audit
from handlers.directory import changes
from handlers.users import find_by_email, normalise_email
from store.models import (
    ChangeKind,
    Identity,
    Organisation,
    Standing,
    User,
    UserStatus,
    UserType,
    utcnow,
)
from store.upsert import insert_ignoring_conflict

# How old a refusal the directory gave must be before a click asks the directory again: the
# person who was told "fix this, then click again" is asked about anew, and one person's clicks
# still cost at most one lookup a minute.
ASK_AGAIN_AFTER = timedelta(minutes=1)


@dataclass(frozen=True)
class Account:
    """A platform account as the authenticated request names it."""

    provider: str  # "slack", "teams"
    tenant_key: str  # the Slack team or Entra tenant the bot is installed in
    subject: str  # the platform's stable user id

    def __str__(self) -> str:
        return f"{self.provider}:{self.tenant_key}:{self.subject}"


@dataclass(frozen=True)
class Profile:
    """What the platform's directory says about an account."""

    email: str | None
    first_name: str = ""
    last_name: str = ""
    standing: Standing = Standing.MEMBER
    # The IANA time zone the platform reports (Slack's `tz`), kept on the portal user for
    # reminders' quiet hours; None: not said.
    time_zone: str | None = None

    @classmethod
    def named(
        cls, email: str | None, standing: Standing, first: str, last: str, full: str
    ) -> Profile:
        """A profile from the names a directory gave: a full name alone, with neither part, is
        split at its first space."""
        if not (first or last):
            first, _, last = full.partition(" ")
        return cls(email=email, first_name=first, last_name=last, standing=standing)


ProfileLookup = Callable[[], Awaitable[Profile]]


class Refusal(enum.StrEnum):
    GUEST = "guest"
    EXTERNAL = "external"
    BOT = "bot"
    ACCOUNT_DEACTIVATED = "account_deactivated"
    NO_EMAIL = "no_email"
    NO_USER = "no_user"
    USER_DEACTIVATED = "user_deactivated"


_STANDING_REFUSAL = {
    Standing.GUEST: Refusal.GUEST,
    Standing.EXTERNAL: Refusal.EXTERNAL,
    Standing.BOT: Refusal.BOT,
    Standing.DEACTIVATED: Refusal.ACCOUNT_DEACTIVATED,
}


@dataclass(frozen=True)
class Person:
    """The outcome of identifying an account: a portal user, or why there is none."""

    identity: Identity
    user: User | None
    refusal: Refusal | None

    @property
    def email(self) -> str | None:
        return self.user.email if self.user else self.identity.email


async def identify(
    session: AsyncSession,
    organisation: Organisation,
    account: Account,
    lookup: ProfileLookup,
    *,
    bootstrap_admins: frozenset[str] = frozenset(),
) -> Person:
    """Match `account` to a portal user, calling `lookup` only if the account was never seen.

    Members with no portal user are created as staff when the organisation provisions from SSO,
    and so are the super admins named in the settings, so a fresh install can be administered.
    """
    # One round trip for a known person: their identity and portal user together.
    row = (await session.execute(_IDENTITY_AND_USER, _params(account))).first()
    zone = None
    if row is None:
        profile = await lookup()
        identity, user = await _store(session, account, profile), None
        zone = profile.time_zone
    else:
        identity, user = row
        if _refused(identity) and identity.updated_at <= utcnow() - ASK_AGAIN_AFTER:
            await _apply(session, organisation, account, identity, await lookup(), True)
            identity.updated_at = utcnow()  # asked now, even if the answer is the same
    refusal = _STANDING_REFUSAL.get(identity.standing)
    if refusal is not None:
        return Person(identity, None, refusal)
    if user is None:
        if not identity.email:
            return Person(identity, None, Refusal.NO_EMAIL)
        user = await find_by_email(session, organisation.id, identity.email)
        if user is None and (organisation.sso_auto_provision or identity.email in bootstrap_admins):
            user = await _provision(session, organisation, identity, account)
        if user is None:
            return Person(identity, None, Refusal.NO_USER)
        identity.user_id = user.id
        await audit.record(
            session,
            organisation_id=organisation.id,
            action="identity.linked",
            actor=str(account),
            actor_user_id=user.id,
            email=identity.email,
        )
    if zone and user.time_zone != zone:
        user.time_zone = zone[:64]
    if user.status != UserStatus.ACTIVE:
        return Person(identity, user, Refusal.USER_DEACTIVATED)
    return Person(identity, user, None)


async def profile_changed(
    session: AsyncSession,
    organisation: Organisation,
    account: Account,
    profile: Profile,
    *,
    email_told: bool = True,
) -> bool:
    """Record what the platform now says about a known account. A new email is noted, never
    used to move the account to another portal user. With `email_told` False the platform said
    nothing of the email (Slack's user_change often leaves it out): the stored one stays. True
    if anything changed."""
    identity = await _stored(session, account)
    if identity is None:
        return False
    if profile.time_zone and identity.user_id is not None:
        user = await session.get(User, identity.user_id)
        if user is not None and user.time_zone != profile.time_zone:
            user.time_zone = profile.time_zone[:64]
    return await _apply(session, organisation, account, identity, profile, email_told)


async def _apply(
    session: AsyncSession,
    organisation: Organisation,
    account: Account,
    identity: Identity,
    profile: Profile,
    email_told: bool,
) -> bool:
    email = normalise_email(profile.email) if profile.email else None
    changed = False
    if email_told and email != identity.email:
        await audit.record(
            session,
            organisation_id=organisation.id,
            action="identity.email_changed",
            actor=str(account),
            actor_user_id=identity.user_id,
            old=identity.email,
            new=email,
        )
        identity.email = email
        changed = True
    if profile.standing != identity.standing:
        identity.standing = profile.standing
        changed = True
    identity.first_name = profile.first_name[:100]
    identity.last_name = profile.last_name[:100]
    return changed


async def signed_in(session: AsyncSession, identity_id: int) -> tuple[Account, Profile] | None:
    """The account behind a browser session, and what is kept of it (a session names an
    identity only); None if that identity is gone."""
    identity = await session.get(Identity, identity_id)
    if identity is None:
        return None
    account = Account(identity.provider, identity.tenant_key, identity.subject)
    kept = Profile(identity.email, identity.first_name, identity.last_name, identity.standing)
    return account, kept


def _refused(identity: Identity) -> bool:
    """Whether the directory's last answer about an account refused it."""
    return identity.standing is not Standing.MEMBER or not identity.email


_KEY = (
    Identity.provider == bindparam("provider"),
    Identity.tenant_key == bindparam("tenant_key"),
    Identity.subject == bindparam("subject"),
)
# Built once: every click asks it.
_IDENTITY_AND_USER = (
    select(Identity, User).outerjoin(User, User.id == Identity.user_id).where(*_KEY)
)
_IDENTITY = select(Identity).where(*_KEY)


def _params(account: Account) -> dict[str, str]:
    return {
        "provider": account.provider,
        "tenant_key": account.tenant_key,
        "subject": account.subject,
    }


async def _stored(session: AsyncSession, account: Account) -> Identity | None:
    return (await session.execute(_IDENTITY, _params(account))).scalar_one_or_none()


async def _store(session: AsyncSession, account: Account, profile: Profile) -> Identity:
    email = normalise_email(profile.email) if profile.email else None
    # Two first clicks of one person at once: the unique key keeps one row, both use it.
    await insert_ignoring_conflict(
        session,
        Identity,
        {
            "provider": account.provider,
            "tenant_key": account.tenant_key,
            "subject": account.subject,
            "email": email,
            "first_name": profile.first_name[:100],
            "last_name": profile.last_name[:100],
            "standing": profile.standing,
        },
    )
    identity = await _stored(session, account)
    assert identity is not None
    return identity


async def _provision(
    session: AsyncSession, organisation: Organisation, identity: Identity, account: Account
) -> User:
    assert identity.email
    await insert_ignoring_conflict(
        session,
        User,
        {
            "organisation_id": organisation.id,
            "email": identity.email,
            "first_name": identity.first_name,
            "last_name": identity.last_name,
            "type": UserType.STAFF,
            "status": UserStatus.ACTIVE,
        },
    )
    user = await find_by_email(session, organisation.id, identity.email)
    assert user is not None
    # A person new to the portal is news to automatic enrolment, however they came.
    await changes.record(
        session,
        organisation.id,
        changes.Origin("sso", str(account)),
        [(user.id, ChangeKind.PERSON_ADDED, None, None, user.email, None)],
        utcnow(),
    )
    await audit.record(
        session,
        organisation_id=organisation.id,
        action="user.provisioned",
        actor=str(account),
        actor_user_id=user.id,
        email=user.email,
    )
    return user
