"""The organisation every end-to-end test starts from, whatever the platform: three items,
three portal users (one of them deactivated, one who completed Safety 101)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.catalog import create_item
from handlers.organisations import default_organisation
from store.models import Enrolment, EnrolmentStatus, ItemKind, User, UserStatus

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
