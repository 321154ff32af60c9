"""The organisation every end-to-end test starts from, whatever the platform: three items,
three portal users (one of them deactivated, one who completed Safety 101); and many people at
once, for load tests and the benchmarks."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.catalog import create_item
from handlers.enrol import enrol
from handlers.links import default_link, token_for
from handlers.organisations import default_organisation
from handlers.signing import LinkSigner
from store.db import make_engine, make_sessionmaker
from store.models import (
    CatalogItem,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    Identity,
    ItemKind,
    Standing,
    User,
    UserStatus,
    UserType,
)

PEOPLE = [
    ("ann@acme.test", "Ann", "Lee"),
    ("done@acme.test", "Dan", "Done"),
    ("off@acme.test", "Ola", "Off"),
]


def organisation(auto_provision: bool = False):
    async def seed(session: AsyncSession) -> None:
        org = await default_organisation(session)
        org.sso_auto_provision = auto_provision
        safety = await create_item(
            session,
            org.id,
            slug="safety-101",
            kind=ItemKind.TOPIC,
            title="Safety 101",
            url="https://learn.acme.test/safety-101",
        )
        await create_item(
            session, org.id, slug="privacy", kind=ItemKind.ARTICLE, title="Privacy basics"
        )
        await create_item(
            session, org.id, slug="onboarding", kind=ItemKind.PATHWAY, title="Onboarding"
        )
        people = {
            email: User(
                organisation_id=org.id,
                email=email,
                first_name=first,
                last_name=last,
                status=UserStatus.DEACTIVATED if first == "Ola" else UserStatus.ACTIVE,
            )
            for email, first, last in PEOPLE
        }
        session.add_all(people.values())
        await session.flush()
        session.add(
            Enrolment(
                user_id=people["done@acme.test"].id,
                item_id=safety.id,
                status=EnrolmentStatus.COMPLETED,
            )
        )

    return seed


async def report_enrolments(session: AsyncSession) -> None:
    """Beside `organisation`'s: Safety 101 enrolments a report shows, each from another way in,
    one of them a client whose name a spreadsheet would run as a formula."""
    org = await default_organisation(session)
    safety = await session.scalar(select(CatalogItem).where(CatalogItem.slug == "safety-101"))
    assert safety is not None
    ways = [
        ("formula@client.test", "=cmd|' /C calc'!A0", UserType.CLIENT, EnrolmentSource.MANUAL),
        ("pat@prospect.test", "Pat", UserType.PROSPECT, EnrolmentSource.IMPORT),
    ]
    for email, first, kind, source in ways:
        user = User(organisation_id=org.id, email=email, first_name=first, last_name="X", type=kind)
        session.add(user)
        await session.flush()
        await enrol(session, organisation=org, user=user, item=safety, source=source, by="seed")


# Many people at once, for load tests and benchmarks -----------------------------------------


def user_id(n: int) -> str:
    """The Slack user id of person number `n`."""
    return f"UB{n:07d}"


def email_of(n: int) -> str:
    return f"bench{n}@acme.test"


async def many(
    db_url: str,
    *,
    key: str,
    team: str,
    users: int,
    items: int,
    warm: bool,
    first_user: int = 0,
) -> list[str]:
    """Items `bench-0`.. (each with its default link, made by the product's own handler),
    portal users numbered from `first_user` and, when `warm`, their Slack identities in `team`
    as a first click would have stored them. The tokens of the items' Enrol buttons, signed
    with `key`."""
    signer = LinkSigner([key])
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            org = await default_organisation(session)
            tokens = []
            for j in range(items):
                slug = f"bench-{j}"
                item = await session.scalar(select(CatalogItem).where(CatalogItem.slug == slug))
                if item is None:
                    item = await create_item(
                        session,
                        org.id,
                        slug=slug,
                        kind=ItemKind.TOPIC,
                        title=f"Bench topic {j}",
                        url=f"https://learn.acme.test/bench-{j}",
                    )
                tokens.append(token_for(signer, await default_link(session, item)))
            numbers = range(first_user, first_user + users)
            step = 2000
            for start in range(0, len(numbers), step):
                chunk = numbers[start : start + step]
                await session.execute(insert(User), [_person(org.id, n) for n in chunk])
                if warm:
                    await _identities(session, chunk, team)
            return tokens
    finally:
        await engine.dispose()


def _person(organisation_id: int, n: int) -> dict:
    return {
        "organisation_id": organisation_id,
        "email": email_of(n),
        "first_name": "Bench",
        "last_name": f"User{n}",
        "type": UserType.STAFF,
        "status": UserStatus.ACTIVE,
    }


async def _identities(session: AsyncSession, numbers: range, team: str) -> None:
    emails = [email_of(n) for n in numbers]
    ids = dict(
        (await session.execute(select(User.email, User.id).where(User.email.in_(emails)))).all()
    )
    await session.execute(
        insert(Identity),
        [
            {
                "provider": "slack",
                "tenant_key": team,
                "subject": user_id(n),
                "user_id": ids[email_of(n)],
                "email": email_of(n),
                "first_name": "Bench",
                "last_name": f"User{n}",
                "standing": Standing.MEMBER,
            }
            for n in numbers
        ],
    )
