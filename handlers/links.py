"""Enrolment links: every item's default link, extra labelled links, and what a token is worth.

The rules come from the product documents: a default link per topic, article and pathway from
the moment it exists; extra links with a label and notes for topics and articles only; a
deactivated link says it is disabled and works again once reactivated; a deleted link is
destroyed and never verifies again.
"""

from __future__ import annotations

import enum
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.signing import LinkSigner, TokenClaims, TokenProblem
from store.models import CatalogItem, DeletedLink, Enrolment, EnrolmentLink, ItemKind, utcnow

LABEL_MAX = 200
NOTES_MAX = 2000


class LinkError(Exception):
    """A request about links that cannot be met; the message says why, in a sentence."""


class LinkState(enum.StrEnum):
    OK = "ok"
    UNKNOWN = "unknown"
    TAMPERED = "tampered"
    EXPIRED = "expired"
    DELETED = "deleted"
    DISABLED = "disabled"
    WRONG_ORGANISATION = "wrong_organisation"


@dataclass(frozen=True)
class LinkCheck:
    state: LinkState
    link: EnrolmentLink | None = None
    item: CatalogItem | None = None
    link_id: int | None = None  # from the token, when its signature held


def new_secret() -> str:
    return secrets.token_urlsafe(16)


def add_default_link(session: AsyncSession, item: CatalogItem) -> EnrolmentLink:
    link = EnrolmentLink(
        organisation_id=item.organisation_id,
        item_id=item.id,
        is_default=True,
        is_active=True,
        secret=new_secret(),
    )
    session.add(link)
    return link


def ensure_accepts_extra_links(item: CatalogItem) -> None:
    if item.kind == ItemKind.PATHWAY:
        raise LinkError(
            f"{item.title} is a pathway, and pathways have only their default link; "
            "post or share that one instead."
        )


async def create_link(
    session: AsyncSession,
    item: CatalogItem,
    *,
    label: str | None,
    notes: str | None,
    created_by_user_id: int | None,
) -> EnrolmentLink:
    ensure_accepts_extra_links(item)
    label = (label or "").strip() or None
    notes = (notes or "").strip() or None
    if label and len(label) > LABEL_MAX:
        raise LinkError(f"A label can be at most {LABEL_MAX} characters; yours has {len(label)}.")
    if notes and len(notes) > NOTES_MAX:
        raise LinkError(f"Notes can be at most {NOTES_MAX} characters; yours have {len(notes)}.")
    link = EnrolmentLink(
        organisation_id=item.organisation_id,
        item_id=item.id,
        label=label,
        notes=notes,
        is_default=False,
        is_active=True,
        secret=new_secret(),
        created_by_user_id=created_by_user_id,
    )
    session.add(link)
    await session.flush()
    return link


async def links_of(session: AsyncSession, item: CatalogItem) -> list[EnrolmentLink]:
    """The item's links that still exist, default first."""
    rows = await session.execute(
        select(EnrolmentLink)
        .where(EnrolmentLink.item_id == item.id, EnrolmentLink.deleted_at.is_(None))
        .order_by(EnrolmentLink.is_default.desc(), EnrolmentLink.id)
    )
    return list(rows.scalars())


async def uses_of(session: AsyncSession, link_ids: list[int]) -> dict[int, int]:
    """How many people each link enrolled. Counted when asked rather than kept on the link row,
    which every click would otherwise have to update."""
    rows = await session.execute(
        select(Enrolment.link_id, func.count())
        .where(Enrolment.link_id.in_(link_ids))
        .group_by(Enrolment.link_id)
    )
    counts: dict[int, int] = dict(rows.all())
    return {link_id: counts.get(link_id, 0) for link_id in link_ids}


async def live_links_per_item(session: AsyncSession, item_ids: list[int]) -> dict[int, int]:
    """How many links each item has that are not deleted (0 for none), in one query."""
    rows = await session.execute(
        select(EnrolmentLink.item_id, func.count())
        .where(EnrolmentLink.item_id.in_(item_ids), EnrolmentLink.deleted_at.is_(None))
        .group_by(EnrolmentLink.item_id)
    )
    counts: dict[int, int] = dict(rows.all())
    return {item_id: counts.get(item_id, 0) for item_id in item_ids}


async def with_label(session: AsyncSession, item: CatalogItem, label: str) -> EnrolmentLink | None:
    """The item's link that already has this label (compared without case or outer spaces), which
    another link with the same label would be hard to tell apart from."""
    wanted = label.strip().casefold()
    for link in await links_of(session, item):
        if (link.label or "").casefold() == wanted:
            return link
    return None


def deep_link(public_url: str, token: str) -> str:
    """The URL a browser opens for a link: GET /enrol/{token}."""
    return f"{public_url}/enrol/{token}"


async def default_link(session: AsyncSession, item: CatalogItem) -> EnrolmentLink:
    link = (
        await session.execute(
            select(EnrolmentLink).where(
                EnrolmentLink.item_id == item.id, EnrolmentLink.is_default.is_(True)
            )
        )
    ).scalar_one_or_none()
    if link is None:  # only possible for rows written outside enrolbot; heal rather than fail
        link = add_default_link(session, item)
        await session.flush()
    return link


async def get_link(session: AsyncSession, organisation_id: int, link_id: int) -> EnrolmentLink:
    """A link that exists and has not been deleted, or LinkError saying which."""
    link = await session.get(EnrolmentLink, link_id)
    if link is None or link.organisation_id != organisation_id:
        raise LinkError(f"There is no link {link_id}. `link list ITEM` shows an item's links.")
    if link.deleted_at is not None:
        raise LinkError(f"Link {link_id} was deleted; deleted links cannot be recovered.")
    return link


def set_active(link: EnrolmentLink, active: bool) -> bool:
    """Switch a link on or off; False when it already was."""
    if link.is_active == active:
        return False
    link.is_active = active
    return True


async def delete_link(
    session: AsyncSession, link: EnrolmentLink, *, deleted_by_user_id: int | None
) -> EnrolmentLink | None:
    """Destroy a link for good. A deleted default link is replaced, so that the item keeps one;
    the replacement is returned."""
    link.secret = None
    link.deleted_at = utcnow()
    link.is_active = False
    was_default = link.is_default
    link.is_default = False
    session.add(DeletedLink(link_id=link.id, deleted_by_user_id=deleted_by_user_id))
    await session.flush()
    if not was_default:
        return None
    item = await session.get(CatalogItem, link.item_id)
    assert item is not None
    replacement = add_default_link(session, item)
    await session.flush()
    return replacement


def token_for(signer: LinkSigner, link: EnrolmentLink) -> str:
    if link.secret is None:
        raise LinkError(f"Link {link.id} was deleted, so it has no token.")
    return signer.sign(link.organisation_id, link.id, link.secret)


# Built once: every click asks it.
_LINK_AND_ITEM = (
    select(EnrolmentLink, CatalogItem, DeletedLink.link_id)
    .join(CatalogItem, CatalogItem.id == EnrolmentLink.item_id)
    .outerjoin(DeletedLink, DeletedLink.link_id == EnrolmentLink.id)
    .where(EnrolmentLink.id == bindparam("link_id"))
)


async def check_token(
    session: AsyncSession, signer: LinkSigner, token: str, organisation_id: int
) -> LinkCheck:
    """What a token is worth to a member of `organisation_id`, with the reason when nothing."""
    claims = signer.read(token)
    if isinstance(claims, TokenProblem):
        return LinkCheck(LinkState(claims.value))
    assert isinstance(claims, TokenClaims)
    if claims.organisation_id != organisation_id:
        return LinkCheck(LinkState.WRONG_ORGANISATION, link_id=claims.link_id)
    row = (await session.execute(_LINK_AND_ITEM, {"link_id": claims.link_id})).one_or_none()
    if row is None:
        tombstone = await session.get(DeletedLink, claims.link_id)
        state = LinkState.DELETED if tombstone else LinkState.UNKNOWN
        return LinkCheck(state, link_id=claims.link_id)
    link, item, tombstone = row
    if link.organisation_id != organisation_id:
        return LinkCheck(LinkState.WRONG_ORGANISATION, link_id=link.id)
    if tombstone is not None or link.deleted_at is not None or link.secret is None:
        return LinkCheck(LinkState.DELETED, link_id=link.id, item=item)
    if not hmac.compare_digest(link.secret, claims.secret):
        # A valid signature over another secret: a token of a link id whose row was replaced.
        return LinkCheck(LinkState.DELETED, link_id=link.id, item=item)
    if not link.is_active:
        return LinkCheck(LinkState.DISABLED, link, item, link.id)
    return LinkCheck(LinkState.OK, link, item, link.id)
