"""Rows tests need, made through the product's own handlers where there is one."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.catalog import create_item
from store.models import CatalogItem, ItemKind, Organisation, User, UserStatus, UserType


async def organisation(session: AsyncSession, name: str = "Acme", **kw) -> Organisation:
    org = Organisation(name=name, sso_auto_provision=kw.pop("sso_auto_provision", False), **kw)
    session.add(org)
    await session.flush()
    return org


async def item(
    session: AsyncSession, org: Organisation, slug: str = "safety-101", kind: str = "topic", **kw
) -> CatalogItem:
    title = kw.pop("title", slug.replace("-", " ").title())
    return await create_item(session, org.id, slug=slug, kind=ItemKind(kind), title=title, **kw)


async def user(
    session: AsyncSession, org: Organisation, email: str = "ann@example.com", **kw
) -> User:
    person = User(
        organisation_id=org.id,
        email=email,
        first_name=kw.pop("first_name", "Ann"),
        last_name=kw.pop("last_name", "Lee"),
        type=kw.pop("type", UserType.STAFF),
        status=kw.pop("status", UserStatus.ACTIVE),
    )
    session.add(person)
    await session.flush()
    return person
