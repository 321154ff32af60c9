"""Invitations (seed 003): an email with a signed link that brings a person into a group.

- `invite` writes one invitation per address with its email in the outbox, in the caller's
  transaction: nothing is sent unless the invitation is committed, and nothing committed is
  lost if the process stops before it is sent (the outbox sends it after a restart).
- The link's token carries the invitation's id and a random secret kept on its row. A resend
  replaces the secret (the old link dies), a cancel or an acceptance erases it.
- Accepting is a double opt-in: the person confirms their name on the page; someone new becomes
  a user of the invitation's type, someone known keeps their account; both join the group
  through the directory core, so the group's rules enrol them within a second.

Until they accept, an invitee is not a user and appears in no report (seed 003's privacy note).
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import audit, users
from handlers.alert_message import GROUP_INVITATION
from handlers.alerts import email_destination
from handlers.directory.memberships import current_members
from handlers.directory.truth import where_kept
from handlers.invitation_accept import (  # noqa: F401  (re-exported: the way in)
    LINK_DAYS,
    ORIGIN,
    Check,
    Checked,
    InviteSigner,
    accept,
    check,
    invite_url,
)
from store.models import (
    Group,
    Invitation,
    InvitationStatus,
    Organisation,
    OutboxMessage,
    User,
    UserStatus,
    UserType,
    utcnow,
)

AT_ONCE = 10  # seed 003: up to 10 emails at a time by hand
IMPORT_MAX = 500  # seed 003: up to 500 from a spreadsheet
TYPES = (UserType.STAFF, UserType.CLIENT)


# Inviting -----------------------------------------------------------------------------------


class Invited(enum.StrEnum):
    INVITED = "invited"
    ALREADY_INVITED = "already_invited"  # a pending invitation to the same group
    ALREADY_MEMBER = "already_member"
    DEACTIVATED = "deactivated"


@dataclass
class Invitations:
    """What `invite` did, address by address (in the order given)."""

    outcomes: dict[str, Invited] = field(default_factory=dict)

    def of(self, outcome: Invited) -> list[str]:
        return [email for email, o in self.outcomes.items() if o is outcome]


def group_problem(group: Group) -> str | None:
    """Why people cannot be invited into this group, if they cannot: another source keeps its
    members (an acceptance could not add them)."""
    kept = where_kept(group)
    if kept is None:
        return None
    return (
        f"{group.name} is kept by {kept}, so an invitation can't add anyone to it: invite "
        "people into a group made here or from a file (`group create NAME`)."
    )


async def invite(
    session: AsyncSession,
    organisation: Organisation,
    rows: Sequence[tuple[str, Group, UserType]],
    *,
    by: str,
    by_user_id: int | None,
    by_name: str = "",
) -> Invitations:
    """Invite each (normalised email, group, type); the caller commits. People already in the
    group, already invited to it, or deactivated are left out and said so."""
    now = utcnow()
    going, done, _ = await sort_out(session, organisation.id, rows)
    for email, group, kind in going:
        invitation = Invitation(
            organisation_id=organisation.id,
            email=email,
            group_id=group.id,
            user_type=kind.value,
            status=InvitationStatus.PENDING,
            secret=secrets.token_hex(16),
            invited_by=by[:200],
            invited_by_user_id=by_user_id,
            created_at=now,
            sent_at=now,
        )
        session.add(invitation)
        await session.flush()
        _send(session, organisation, invitation, group, by_name, now)
        await audit.record(
            session,
            organisation_id=organisation.id,
            action="invite.sent",
            actor=by,
            actor_user_id=by_user_id,
            invitation_id=invitation.id,
            email=email,
            group=group.name,
        )
        done.outcomes[email] = Invited.INVITED
    return done


async def sort_out(
    session: AsyncSession, org_id: int, rows: Sequence[tuple[str, Group, UserType]]
) -> tuple[list[tuple[str, Group, UserType]], Invitations, dict[str, User]]:
    """Which rows to invite (the first of each address), which are left out and why, and the
    people already known by these addresses; nothing is written."""
    skipped = Invitations()
    emails = sorted({email for email, _, _ in rows})
    known = await _people(session, org_id, emails)
    pending = await _pending(session, org_id, emails)
    members: dict[int, set[int]] = {}
    going, seen = [], set()
    for email, group, kind in rows:
        if email in seen:
            continue
        seen.add(email)
        user = known.get(email)
        if group.id not in members:
            members[group.id] = await current_members(session, group.id)
        if user is not None and user.status is UserStatus.DEACTIVATED:
            skipped.outcomes[email] = Invited.DEACTIVATED
        elif user is not None and user.id in members[group.id]:
            skipped.outcomes[email] = Invited.ALREADY_MEMBER
        elif (email, group.id) in pending:
            skipped.outcomes[email] = Invited.ALREADY_INVITED
        else:
            going.append((email, group, kind))
    return going, skipped, known


async def _people(session: AsyncSession, org_id: int, emails: list[str]) -> dict[str, User]:
    if not emails:
        return {}
    rows = await session.execute(
        select(User).where(User.organisation_id == org_id, func.lower(User.email).in_(emails))
    )
    return {u.email.lower(): u for u in rows.scalars()}


async def _pending(session: AsyncSession, org_id: int, emails: list[str]) -> set[tuple[str, int]]:
    if not emails:
        return set()
    rows = await session.execute(
        select(Invitation.email, Invitation.group_id).where(
            Invitation.organisation_id == org_id,
            Invitation.email.in_(emails),
            Invitation.status == InvitationStatus.PENDING,
        )
    )
    return {(e, g) for e, g in rows}


def _send(
    session: AsyncSession,
    organisation: Organisation,
    invitation: Invitation,
    group: Group,
    by_name: str,
    now: datetime,
) -> None:
    """The invitation email, in the outbox with the invitation; its link is signed when the
    email is sent, from the secret in the payload, so no link is kept in a table."""
    session.add(
        OutboxMessage(
            organisation_id=organisation.id,
            kind=GROUP_INVITATION,
            destination=email_destination(invitation.email),
            payload={
                "organisation_id": organisation.id,
                "organisation": organisation.name,
                "invitation_id": invitation.id,
                "secret": invitation.secret,
                "email": invitation.email,
                "group": group.name,
                "by": by_name,
                "days": LINK_DAYS,
            },
            not_before=now,
            attempts=0,
        )
    )


# Looking after them -------------------------------------------------------------------------


async def named(session: AsyncSession, org_id: int, word: str) -> list[Invitation]:
    """The invitations a word names: `i12` (as `invite list` shows them), or an email (its
    pending invitations, else its latest)."""
    word = word.strip()
    if word[:1] in ("i", "I") and word[1:].isdigit():
        found = await session.get(Invitation, int(word[1:]))
        return [found] if found is not None and found.organisation_id == org_id else []
    email = users.normalise_email(word)
    if email is None:
        return []
    rows = list(
        (
            await session.execute(
                select(Invitation)
                .where(Invitation.organisation_id == org_id, Invitation.email == email)
                .order_by(Invitation.id.desc())
            )
        ).scalars()
    )
    pending = [i for i in rows if i.status is InvitationStatus.PENDING]
    return pending or rows[:1]


async def listed(
    session: AsyncSession, org_id: int, status: InvitationStatus | None, limit: int
) -> tuple[int, list[tuple[Invitation, str, User | None]]]:
    """How many invitations there are (of a status), and the newest `limit` with their group's
    name and the person who accepted."""
    where = [Invitation.organisation_id == org_id]
    if status is not None:
        where.append(Invitation.status == status)
    total = await session.scalar(select(func.count()).select_from(Invitation).where(*where))
    rows = await session.execute(
        select(Invitation, Group.name, User)
        .join(Group, Group.id == Invitation.group_id)
        .outerjoin(User, User.id == Invitation.user_id)
        .where(*where)
        .order_by(Invitation.id.desc())
        .limit(limit)
    )
    return total or 0, [(i, name, user) for i, name, user in rows]


async def cancel(session: AsyncSession, invitation: Invitation, *, by: str, by_user_id: int | None):
    """Cancel a pending invitation: its link stops working at once (its secret is erased)."""
    invitation.status = InvitationStatus.CANCELLED
    invitation.secret = None
    invitation.cancelled_at = utcnow()
    await audit.record(
        session,
        organisation_id=invitation.organisation_id,
        action="invite.cancelled",
        actor=by,
        actor_user_id=by_user_id,
        invitation_id=invitation.id,
        email=invitation.email,
    )


async def resend(
    session: AsyncSession,
    organisation: Organisation,
    invitation: Invitation,
    *,
    by: str,
    by_user_id: int | None,
    by_name: str = "",
) -> None:
    """Send a pending invitation again with a new link; the old link stops working."""
    now = utcnow()
    invitation.secret = secrets.token_hex(16)
    invitation.sent_at = now
    group = await session.get(Group, invitation.group_id)
    assert group is not None
    _send(session, organisation, invitation, group, by_name, now)
    await audit.record(
        session,
        organisation_id=organisation.id,
        action="invite.resent",
        actor=by,
        actor_user_id=by_user_id,
        invitation_id=invitation.id,
        email=invitation.email,
    )
