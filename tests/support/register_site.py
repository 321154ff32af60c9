"""The registration page's site for end-to-end tests: the real app served over HTTP with a real
SMTP server on loopback, an organisation with items, people and registration tokens, a browser
without JavaScript, and readers of what the database, the inbox and the page hold."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.settings import Settings
from handlers import tokens
from handlers.catalog import create_item
from handlers.links import default_link, token_for
from handlers.organisations import default_organisation
from handlers.signing import LinkSigner
from store.models import Enrolment, ItemKind, User, UserStatus, UserType
from tests.support.databases import Databases
from tests.support.servers import ServedApp
from tests.support.smtp import Inbox, smtp_server
from tests.support.syncdb import SyncDB

KEY = "register-test-key-0123456789abcdef0123"
SIGNER = LinkSigner([KEY])
PUBLIC_URL = "http://learn.acme.test"  # as served here; https sets a Secure cookie
FORM_TOKEN = re.compile(r'name="form" value="([^"]+)"')


@dataclass
class Site:
    url: str
    db: SyncDB
    inbox: Inbox
    codes: dict[str, str]  # token nickname -> code
    link_token: str  # an internal link's signed token


def _seed(session_work_db: SyncDB) -> tuple[dict[str, str], str]:
    async def work(session) -> tuple[dict[str, str], str]:
        org = await default_organisation(session)
        org.name = "Acme"
        safety = await create_item(
            session,
            org.id,
            slug="safety-101",
            kind=ItemKind.TOPIC,
            title="Safety 101",
            url="https://learn.acme.test/safety-101",
        )
        gdpr = await create_item(
            session, org.id, slug="gdpr-basics", kind=ItemKind.ARTICLE, title="GDPR basics"
        )
        session.add_all(
            [
                User(
                    organisation_id=org.id,
                    email="ann@acme.test",
                    first_name="Ann",
                    last_name="Lee",
                    type=UserType.STAFF,
                ),
                User(
                    organisation_id=org.id,
                    email="dee@acme.test",
                    first_name="Dee",
                    last_name="Old",
                    status=UserStatus.DEACTIVATED,
                ),
            ]
        )
        codes = {}
        for nickname, item in (
            ("fair", safety),
            ("newsletter", safety),
            ("gdpr", gdpr),
            ("paused", safety),
            ("gone", safety),
        ):
            token, code = await tokens.create_token(
                session, SIGNER, item, nickname=nickname, created_by_user_id=None
            )
            codes[nickname] = tokens.shown(code)
            if nickname == "paused":
                tokens.set_active(token, False)
            if nickname == "gone":
                await tokens.delete_token(session, token, deleted_by_user_id=None)
        return codes, token_for(SIGNER, await default_link(session, safety))

    return session_work_db.run(work)


def mailing_site_settings(database_url: str, smtp_url: str, key: str) -> Settings:
    """A served site that emails through a local SMTP server at once, its pages not rate
    limited per address (every test request comes from 127.0.0.1)."""
    return Settings(
        _env_file=None,
        ENROLBOT_SECRET_KEY=key,
        DATABASE_URL=database_url,
        ENROLBOT_PUBLIC_URL=PUBLIC_URL,
        SMTP_URL=smtp_url,
        ENROLBOT_DELIVERY_SECONDS="0.1",
        ENROLBOT_REGISTER_LIMIT_ADDRESS="1000",
    )


def site_per_database(request: pytest.FixtureRequest, databases: Databases) -> Iterator[Site]:
    """One served site per database for a module's tests, each test with people and tokens of
    its own; a module makes it its `site` fixture with
    `site = pytest.fixture(site_per_database, scope="module", params=backends(), name="site")`."""
    url = databases.fresh(request.param)
    db = SyncDB(url)
    codes, link_token = _seed(db)
    with smtp_server() as inbox:
        settings = mailing_site_settings(url, inbox.url, KEY)
        with ServedApp(create_app(settings)) as served:
            yield Site(served.url, db, inbox, codes, link_token)
    databases.drop(url)


class Visitor:
    """A browser without JavaScript: it keeps cookies, opens the form and sends it."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.http = httpx.Client(base_url=site.url, timeout=10)

    def open(self, query: str = "") -> httpx.Response:
        return self.http.get("/register" + query)

    def send(self, **fields: str) -> httpx.Response:
        form = FORM_TOKEN.search(self.open().text).group(1)
        return self.http.post("/register", data={"form": form, **fields})


def person(email: str, token: str, first: str = "Pat", last: str = "Jones") -> dict[str, str]:
    return {"first_name": first, "last_name": last, "email": email, "token": token}


def enrolments_of(site: Site, email: str) -> list[tuple]:
    return site.db.run(
        lambda s: _rows(
            s,
            select(Enrolment.item_id, Enrolment.source, Enrolment.registration_token_id)
            .join(User, User.id == Enrolment.user_id)
            .where(User.email == email),
        )
    )


async def _rows(session, statement) -> list[tuple]:
    return [tuple(r) for r in await session.execute(statement)]


def user_of(site: Site, email: str) -> tuple | None:
    rows = site.db.run(
        lambda s: _rows(
            s,
            select(User.first_name, User.last_name, User.type, User.email_confirmed_at).where(
                User.email == email
            ),
        )
    )
    return rows[0] if rows else None


def mails_to(site: Site, address: str, count: int = 1) -> list:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [m for rcpt, m in site.inbox.messages if address in rcpt]
        if len(found) >= count:
            return found
        time.sleep(0.05)
    return [m for rcpt, m in site.inbox.messages if address in rcpt]


def text_of(mail) -> str:
    return mail.get_content().replace("\r\n", "\n")


def paragraphs(page: httpx.Response) -> list[str]:
    return [
        re.sub(r"\s+", " ", p).strip() for p in re.findall(r"<p[^>]*>(.*?)</p>", page.text, re.S)
    ]
