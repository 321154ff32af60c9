"""The join page (seed 003's "Join Organization Web Page"): when on, ENROLBOT_PUBLIC_URL/join/PATH
(a random path; `join on` again makes a new one, and the old one stops working) takes a name
and an email, sends that address a signed link, and the link makes the person a member of the
join group (someone new becomes a staff user first).

The request answers the same whether or not the address is known, and writes nothing but the
outbox row of the email: the person exists only once they confirm. The confirmation carries
the page's path, so renewing the path or switching the page off kills links on their way.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import audit, directory, users
from handlers.alert_message import JOIN_CONFIRM
from handlers.alerts import email_destination, enqueue_admin_news
from handlers.directory import Origin
from handlers.invitations_text import joined_news
from store.models import Group, JoinPage, Organisation, OutboxMessage, UserStatus, utcnow

CONFIRM_DAYS = 2
ORIGIN = "join"


def new_path() -> str:
    return secrets.token_urlsafe(18)


async def page_of(session: AsyncSession, org_id: int) -> JoinPage | None:
    return await session.get(JoinPage, org_id)


async def switch_on(
    session: AsyncSession, org_id: int, group: Group, domains: list[str]
) -> JoinPage:
    """Turn the page on for `group` with these domains (none: any), at a new path."""
    page = await page_of(session, org_id)
    if page is None:
        page = JoinPage(organisation_id=org_id)
        session.add(page)
    page.enabled = True
    page.path = new_path()
    page.group_id = group.id
    page.domains = sorted(set(domains))
    page.updated_at = utcnow()
    await session.flush()
    return page


async def switch_off(session: AsyncSession, org_id: int) -> bool:
    """Turn the page off; False when it was not on. Its path dies with it."""
    page = await page_of(session, org_id)
    if page is None or not page.enabled:
        return False
    page.enabled = False
    page.path = new_path()
    page.updated_at = utcnow()
    return True


async def open_page(
    session: AsyncSession, path: str
) -> tuple[JoinPage, Group, Organisation] | None:
    """The page at this path, if it is on and its group still exists."""
    if not path or len(path) > 64:
        return None
    page = (
        await session.execute(select(JoinPage).where(JoinPage.path == path))
    ).scalar_one_or_none()
    if page is None or not page.enabled or page.group_id is None:
        return None
    group = await session.get(Group, page.group_id)
    organisation = await session.get(Organisation, page.organisation_id)
    if group is None or group.deleted_at is not None or organisation is None:
        return None
    return page, group, organisation


def domain_allowed(page: JoinPage, email: str) -> bool:
    domains = list(page.domains or [])
    return not domains or email.rsplit("@", 1)[-1].lower() in domains


class JoinSigner:
    """Signs a join confirmation: organisation, page path, email and name, for CONFIRM_DAYS."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._serializer = URLSafeTimedSerializer(list(reversed(keys)), salt="enrolbot.join")

    def sign(self, payload: dict) -> str:
        return self._serializer.dumps(
            [
                int(payload["organisation_id"]),
                str(payload["path"]),
                str(payload["email"]),
                str(payload["first_name"]),
                str(payload["last_name"]),
            ]
        )

    def read(self, token: str) -> tuple[int, str, str, str, str] | None:
        if not token or len(token) > 1500:
            return None
        try:
            payload = self._serializer.loads(token, max_age=CONFIRM_DAYS * 86400)
        except BadData:
            return None
        match payload:
            case [int(org), str(path), str(email), str(first), str(last)]:
                return org, path, email, first, last
        return None


def confirm_url(public_url: str, signer: JoinSigner, payload: dict) -> str:
    return f"{public_url}/join/confirm?t={signer.sign(payload)}"


def ask(
    session: AsyncSession,
    organisation: Organisation,
    page: JoinPage,
    *,
    email: str,
    first_name: str,
    last_name: str,
) -> None:
    """Send the confirmation email (through the outbox, with the caller's commit)."""
    session.add(
        OutboxMessage(
            organisation_id=organisation.id,
            kind=JOIN_CONFIRM,
            destination=email_destination(email),
            payload={
                "organisation_id": organisation.id,
                "organisation": organisation.name,
                "path": page.path,
                "email": email,
                "first_name": first_name,
                "last_name": last_name,
            },
            not_before=utcnow(),
            attempts=0,
        )
    )


class Joined(enum.StrEnum):
    JOINED = "joined"
    BROKEN = "broken"  # tampered, expired, the page renewed or off since
    DEACTIVATED = "deactivated"


@dataclass(frozen=True)
class Joining:
    outcome: Joined
    group: Group | None = None


async def confirm(session: AsyncSession, signer: JoinSigner, token: str) -> Joining:
    """Make the person of a confirmation link a member of the join group (once; again is fine).
    The caller commits; the group's rules enrol them once it is committed."""
    read = signer.read(token)
    if read is None:
        return Joining(Joined.BROKEN)
    org_id, path, email, first_name, last_name = read
    opened = await open_page(session, path)
    if opened is None or opened[2].id != org_id or users.normalise_email(email) != email:
        return Joining(Joined.BROKEN)
    page, group, organisation = opened
    if not domain_allowed(page, email):
        return Joining(Joined.BROKEN)
    user = await users.find_by_email(session, org_id, email)
    origin = Origin(ORIGIN, f"join page ({email})")
    if user is None:
        record = directory.PersonRecord(
            email=email, attributes={"first_name": first_name, "last_name": last_name}
        )
        made = await directory.upsert_people(session, org_id, [record], origin)
        user = await users.find_by_email(session, org_id, email)
        assert user is not None and made.user_ids[0] == user.id
    if user.status is UserStatus.DEACTIVATED:
        return Joining(Joined.DEACTIVATED, group)
    change = await directory.add_members(session, group, [user.id], origin)
    if change.joined:
        await audit.record(
            session,
            organisation_id=org_id,
            action="join.joined",
            actor=email,
            actor_user_id=user.id,
            group=group.name,
        )
        await enqueue_admin_news(session, organisation, *joined_news(user, group))
    return Joining(Joined.JOINED, group)
