"""The one way in: every enrolment says how it came about, writes its audit row, and alerts
only where people enrolled themselves."""

from __future__ import annotations

from sqlalchemy import select, text

from handlers.enrol import Outcome, enrol, enrol_with_token
from handlers.identity import Account, Profile
from handlers.links import default_link, token_for
from handlers.signing import LinkSigner
from store.db import make_engine
from store.models import (
    AuditEvent,
    Enrolment,
    EnrolmentSource,
    NotificationSubscription,
    OutboxMessage,
)
from store.schema import upgrade
from tests.support import factories

SIGNER = LinkSigner(["key-one"])


async def _subscribed(session, org) -> None:
    session.add(
        NotificationSubscription(
            organisation_id=org.id, item_id=None, provider="slack", tenant_key="T1", channel_id="C1"
        )
    )
    await session.flush()


async def test_a_click_enrols_with_the_source_link_and_alerts_the_subscribed_channel(session):
    org = await factories.organisation(session)
    item = await factories.item(session, org)
    person = await factories.user(session, org)
    await _subscribed(session, org)
    link = await default_link(session, item)

    async def lookup() -> Profile:
        return Profile(email=person.email)

    result = await enrol_with_token(
        session,
        signer=SIGNER,
        organisation=org,
        token=token_for(SIGNER, link),
        account=Account("slack", "T1", "U1"),
        lookup=lookup,
    )
    assert result.outcome is Outcome.ENROLLED
    rows = (await session.execute(select(Enrolment.source, Enrolment.link_id))).all()
    assert rows == [("link", link.id)]
    assert await session.scalar(select(OutboxMessage.destination)) == "slack:T1:C1"


async def test_an_enrolment_by_someone_else_names_its_source_and_who_and_alerts_no_one(session):
    org = await factories.organisation(session)
    item = await factories.item(session, org)
    admin = await factories.user(session, org, email="boss@example.com")
    person = await factories.user(session, org)
    await _subscribed(session, org)

    first = await enrol(
        session,
        organisation=org,
        user=person,
        item=item,
        source=EnrolmentSource.MANUAL,
        by="slack:T1:UBOSS",
        by_user_id=admin.id,
    )
    again = await enrol(
        session, organisation=org, user=person, item=item, source=EnrolmentSource.RULE, by="rule 7"
    )
    assert (first, again) == (Outcome.ENROLLED, Outcome.ALREADY_ENROLLED)
    rows = (await session.execute(select(Enrolment.user_id, Enrolment.source))).all()
    assert rows == [(person.id, "manual")]  # the second way in changed nothing
    audit = (
        await session.execute(
            select(
                AuditEvent.action, AuditEvent.actor, AuditEvent.actor_user_id, AuditEvent.detail
            ).order_by(AuditEvent.id)
        )
    ).all()
    assert audit == [
        ("enrol.enrolled", "slack:T1:UBOSS", admin.id, {"source": "manual"}),
        ("enrol.already_enrolled", "rule 7", person.id, {"source": "rule"}),
    ]
    assert await session.scalar(select(OutboxMessage.id)) is None  # not a self-enrolment


async def test_enrolments_made_before_sources_existed_came_through_links(databases, backend):
    url = databases.empty(backend)
    engine = make_engine(url)
    try:
        await upgrade(engine, "0004")
        async with engine.begin() as conn:
            for statement in (
                "INSERT INTO organisation (id, name, sso_auto_provision, created_at)"
                " VALUES (1, 'Acme', false, CURRENT_TIMESTAMP)",
                "INSERT INTO portal_user (id, organisation_id, email, first_name, last_name, type,"
                " status, created_at) VALUES (1, 1, 'a@b.c', '', '', 'staff', 'active',"
                " CURRENT_TIMESTAMP)",
                "INSERT INTO catalog_item (id, organisation_id, slug, kind, title, source,"
                " created_at) VALUES (1, 1, 's', 'topic', 'S', 'own', CURRENT_TIMESTAMP)",
                "INSERT INTO enrolment (user_id, item_id, status, enrolled_at)"
                " VALUES (1, 1, 'enrolled', CURRENT_TIMESTAMP)",
            ):
                await conn.execute(text(statement))
        await upgrade(engine)
        async with engine.connect() as conn:
            sources = (await conn.execute(text("SELECT source FROM enrolment"))).all()
        assert sources == [("link",)]
    finally:
        await engine.dispose()
        databases.drop(url)
