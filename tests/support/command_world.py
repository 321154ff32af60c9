"""A small organisation for the command tests: admins of each kind, learners, three items, and a
snapshot of what the database holds, read after a commit in a session of its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import admins, links
from handlers.commands import CommandContext
from handlers.enrol import Outcome, enrol_with_token
from handlers.identity import Account, Profile, identify
from handlers.replies import Notice, Tone
from handlers.signing import LinkSigner
from store.models import (
    AdminGrant,
    AdminRole,
    AuditEvent,
    CatalogItem,
    DeletedLink,
    EnrolmentLink,
    Organisation,
    Standing,
    User,
)
from tests.support import factories

SIGNER = LinkSigner(["command-test-key"])
PUBLIC_URL = "https://enrol.example.com"
BOSS = "boss@example.com"  # in ENROLBOT_ADMINS
ADMINS = frozenset({BOSS})
TEAM = "T1"

CREATE_USAGE = "`/enrol link create ITEM [--label TEXT] [--notes TEXT]`"
POST_USAGE = "`/enrol post ITEM|LINK [#channel] [--token TOKEN]`"


def subject_of(email: str) -> str:
    return "U" + email.split("@")[0].upper()


@dataclass
class Snapshot:
    """What the database holds, read after a commit in a session of its own."""

    links: dict[int, tuple]
    grants: dict[str, str]
    tombstones: set[int]
    audit: list[tuple]


@dataclass
class Acme:
    session: AsyncSession
    sessions: async_sessionmaker[AsyncSession]
    org: Organisation
    safety: CatalogItem  # topic
    gdpr: CatalogItem  # article
    onboarding: CatalogItem  # pathway
    users: dict[str, User]
    profiles: dict[str, Profile] = field(default_factory=dict)  # what @mentions resolve to

    async def ctx(
        self,
        email: str,
        *,
        standing: Standing = Standing.MEMBER,
        prefix: str = "/enrol",
        provider: str = "slack",
        **platform: Any,
    ) -> CommandContext:
        """The context of a command typed by the account whose verified email is `email`;
        `platform` holds what an adapter adds (channel_id, channels_by_name, personal...)."""
        account = Account(provider, TEAM, subject_of(email))

        async def lookup() -> Profile:
            return Profile(email=email, standing=standing)

        person = await identify(self.session, self.org, account, lookup, bootstrap_admins=ADMINS)

        async def lookup_profile(subject: str) -> Profile:
            return self.profiles[subject]

        return CommandContext(
            session=self.session,
            organisation=self.org,
            account=account,
            caller=person,
            signer=SIGNER,
            public_url=PUBLIC_URL,
            bootstrap_admins=ADMINS,
            prefix=prefix,
            lookup_profile=lookup_profile,
            **platform,
        )

    async def default_link(self, item: CatalogItem) -> EnrolmentLink:
        return await links.default_link(self.session, item)

    async def extra_link(
        self, item: CatalogItem, label: str = "Intranet", notes: str | None = None
    ) -> EnrolmentLink:
        return await links.create_link(
            self.session, item, label=label, notes=notes, created_by_user_id=None
        )

    async def enrol_through(self, link: EnrolmentLink, *emails: str) -> None:
        for email in emails:
            result = await enrol_with_token(
                self.session,
                signer=SIGNER,
                organisation=self.org,
                token=links.token_for(SIGNER, link),
                account=Account("slack", TEAM, subject_of(email)),
                lookup=lambda email=email: profile_of(email),
            )
            assert result.outcome is Outcome.ENROLLED

    async def db(self) -> Snapshot:
        await self.session.commit()
        async with self.sessions() as s:
            link_rows = await s.execute(
                select(
                    EnrolmentLink.id,
                    CatalogItem.slug,
                    EnrolmentLink.label,
                    EnrolmentLink.notes,
                    EnrolmentLink.is_default,
                    EnrolmentLink.is_active,
                    EnrolmentLink.secret.is_not(None),
                    EnrolmentLink.deleted_at.is_not(None),
                    EnrolmentLink.created_by_user_id,
                ).join(CatalogItem, CatalogItem.id == EnrolmentLink.item_id)
            )
            grant_rows = await s.execute(
                select(User.email, AdminGrant.role).join(User, User.id == AdminGrant.user_id)
            )
            tombstones = set((await s.execute(select(DeletedLink.link_id))).scalars())
            audit_rows = await s.execute(
                select(
                    AuditEvent.action,
                    AuditEvent.actor,
                    AuditEvent.actor_user_id,
                    AuditEvent.item_id,
                    AuditEvent.link_id,
                    AuditEvent.detail,
                ).order_by(AuditEvent.id)
            )
            return Snapshot(
                links={row[0]: tuple(row[1:]) for row in link_rows},
                grants={email: role.value for email, role in grant_rows},
                tombstones=tombstones,
                audit=[tuple(row) for row in audit_rows],
            )


async def make_acme(session: AsyncSession, sessions: async_sessionmaker[AsyncSession]) -> Acme:
    """The organisation of the command tests (each test file makes it its `acme` fixture)."""
    org = await factories.organisation(session)
    safety = await factories.item(
        session, org, "safety-101", "topic", title="Safety 101", url="https://learn.example/s101"
    )
    gdpr = await factories.item(session, org, "gdpr-basics", "article", title="GDPR basics")
    onboarding = await factories.item(session, org, "onboarding", "pathway", title="Onboarding")
    users = {}
    for email in (BOSS, "ann@example.com", "sam@example.com", "sue@example.com", "cat@example.com"):
        users[email] = await factories.user(session, org, email=email)
    # sam manages links; sue is a super admin added with `admin add`; ann and cat are learners
    await admins.grant(session, users["sam@example.com"], AdminRole.STANDARD, granted_by=None)
    await admins.grant(session, users["sue@example.com"], AdminRole.SUPER, granted_by=None)
    world = Acme(session, sessions, org, safety, gdpr, onboarding, users)
    for email in users:  # each account seen once already, so commands audit only what they do
        await world.ctx(email)
    await session.commit()
    return world


def error(reply: object) -> str:
    assert isinstance(reply, Notice), reply
    assert reply.tone is Tone.ERROR, reply
    assert reply.lines == ()
    return reply.text


def new_audit(before: Snapshot, after: Snapshot) -> list[tuple]:
    return after.audit[len(before.audit) :]


def actions(rows: list[tuple]) -> list[str]:
    return [row[0] for row in rows]


async def profile_of(email: str) -> Profile:
    return Profile(email=email)


@pytest.fixture
async def acme(session, sessions) -> Acme:
    """The Acme organisation of the command tests, on the test's database."""
    return await make_acme(session, sessions)
