"""Accepting an invitation: its signed link (the invitation's id and current secret), what the
link is worth now, and the double opt-in that makes the person a user and a member of the
invitation's group through the directory core, so the group's rules enrol them (seed 003).
handlers.invitations re-exports these names."""

from __future__ import annotations

import enum
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import audit, directory, users
from handlers.alerts import enqueue_admin_news
from handlers.directory import Origin
from store.models import (
    Group,
    Invitation,
    InvitationStatus,
    Organisation,
    User,
    UserStatus,
    UserType,
    utcnow,
)

LINK_DAYS = 30  # an invitation's link works this long after its latest send
ORIGIN = "invitation"  # the directory's source of the memberships an acceptance makes


class InviteSigner:
    """Signs an invitation's link: organisation, invitation and its current secret. The same
    keys as links, newest first, so keys rotate without breaking emails on their way."""

    def __init__(self, keys: Sequence[str], max_age_days: int = LINK_DAYS) -> None:
        self._serializer = URLSafeTimedSerializer(list(reversed(keys)), salt="enrolbot.invite")
        self._max_age = max_age_days * 86400

    def sign(self, organisation_id: int, invitation_id: int, secret: str) -> str:
        return self._serializer.dumps([organisation_id, invitation_id, secret])

    def read(self, token: str) -> tuple[int, int, str] | Checked:
        if not token or len(token) > 500:
            return Checked.BROKEN
        try:
            payload = self._serializer.loads(token, max_age=self._max_age)
        except SignatureExpired:
            return Checked.EXPIRED
        except BadData:
            return Checked.BROKEN
        match payload:
            case [int(org), int(invitation), str(secret)]:
                return org, invitation, secret
        return Checked.BROKEN


def invite_url(public_url: str, signer: InviteSigner, payload: dict) -> str:
    """The link in an invitation email, from its outbox payload (signed as it is sent)."""
    token = signer.sign(
        int(payload["organisation_id"]), int(payload["invitation_id"]), str(payload["secret"])
    )
    return f"{public_url}/invite/{token}"


# Accepting ----------------------------------------------------------------------------------


class Checked(enum.StrEnum):
    OK = "ok"
    BROKEN = "broken"  # tampered, cut short, or replaced by a newer link
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    ACCEPTED = "accepted"  # already: opening the link again is fine
    GROUP_GONE = "group_gone"
    DEACTIVATED = "deactivated"


@dataclass(frozen=True)
class Check:
    state: Checked
    invitation: Invitation | None = None
    group: Group | None = None
    user: User | None = None  # the person already known by this email, if any


async def check(
    session: AsyncSession, signer: InviteSigner, organisation: Organisation, token: str
) -> Check:
    """What an invitation link is worth now."""
    read = signer.read(token)
    if isinstance(read, Checked):
        return Check(read)
    org_id, invitation_id, secret = read
    invitation = await session.get(Invitation, invitation_id)
    if invitation is None or org_id != organisation.id or invitation.organisation_id != org_id:
        return Check(Checked.BROKEN)
    group = await session.get(Group, invitation.group_id)
    if invitation.status is InvitationStatus.ACCEPTED:
        return Check(Checked.ACCEPTED, invitation, group)
    if invitation.status is InvitationStatus.CANCELLED:
        return Check(Checked.CANCELLED, invitation, group)
    if invitation.secret is None or not secrets.compare_digest(invitation.secret, secret):
        return Check(Checked.BROKEN)
    if group is None or group.deleted_at is not None:
        return Check(Checked.GROUP_GONE, invitation, group)
    user = await users.find_by_email(session, org_id, invitation.email)
    if user is not None and user.status is UserStatus.DEACTIVATED:
        return Check(Checked.DEACTIVATED, invitation, group, user)
    return Check(Checked.OK, invitation, group, user)


async def accept(
    session: AsyncSession,
    signer: InviteSigner,
    organisation: Organisation,
    token: str,
    *,
    first_name: str,
    last_name: str,
) -> Check:
    """Accept the invitation the token names (its state must be OK, else nothing changes): the
    person becomes a user if new, joins the group, and the admins hear of it. The caller
    commits; the rules' follower enrols them once it is committed."""
    checked = await check(session, signer, organisation, token)
    if checked.state is not Checked.OK:
        return checked
    invitation, group = checked.invitation, checked.group
    assert invitation is not None and group is not None
    user = checked.user or await _new_person(
        session, organisation.id, invitation, first_name, last_name
    )
    await directory.add_members(
        session, group, [user.id], Origin(ORIGIN, f"invitation i{invitation.id}")
    )
    invitation.status = InvitationStatus.ACCEPTED
    invitation.secret = None
    invitation.accepted_at = utcnow()
    invitation.user_id = user.id
    await audit.record(
        session,
        organisation_id=organisation.id,
        action="invite.accepted",
        actor=invitation.email,
        actor_user_id=user.id,
        invitation_id=invitation.id,
        group=group.name,
    )
    from handlers.invitations_text import accepted_news  # the one wording, beside the others

    await enqueue_admin_news(session, organisation, *accepted_news(user, group))
    return Check(Checked.ACCEPTED, invitation, group, user)


async def _new_person(
    session: AsyncSession, org_id: int, invitation: Invitation, first_name: str, last_name: str
) -> User:
    record = directory.PersonRecord(
        email=invitation.email,
        attributes={"first_name": first_name, "last_name": last_name},
        type=UserType(invitation.user_type),
    )
    made = await directory.upsert_people(
        session, org_id, [record], Origin(ORIGIN, f"invitation i{invitation.id}")
    )
    user = await session.get(User, made.user_ids[0])
    assert user is not None
    return user
