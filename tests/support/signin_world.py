"""Deep links opened in a browser, end to end: the real enrolbot app over HTTP with Entra ID's
and Slack's sign-in standing in beside it (tests/support/entra_signin_standin.py,
slack_signin_standin.py), the organisation of tests/support/seed.py, and helpers to make links
and follow a sign-in the way a browser does."""

from __future__ import annotations

import html
import re
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.settings import Settings
from handlers.catalog import get_item
from handlers.links import check_token, create_link, default_link, delete_link, token_for
from handlers.organisations import default_organisation
from handlers.signing import LinkSigner
from store.models import Enrolment, User, UserType
from tests.support import seed
from tests.support.databases import Databases
from tests.support.entra_signin_standin import APP_ID, TENANT, EntraSignIn
from tests.support.servers import ServedApp
from tests.support.slack_signin_standin import CLIENT_ID, CLIENT_SECRET, SlackSignIn
from tests.support.slack_standin import SlackStandIn
from tests.support.slack_world import BOT_TOKEN, DIRECTORY, SIGNING_SECRET
from tests.support.syncdb import SyncDB

KEY = "signin-test-key-0123456789abcdef0123"
PROSPECT = "pat@prospect.test"


class Later:
    """An ASGI app given once its server's address is known (ENROLBOT_PUBLIC_URL needs it)."""

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


class SignInWorld:
    def __init__(self, db_url: str, workdir: Path) -> None:
        self.db = SyncDB(db_url)
        self.db.run(seed.organisation(False))
        self.db.run(_prospect)
        self.entra = EntraSignIn(workdir)
        self.slack = SlackStandIn()
        for user in DIRECTORY:
            self.slack.add_user(user)
        self.slack_signin = SlackSignIn(self.slack)
        self._standins = [
            ServedApp(
                self.entra.app,
                ssl={"ssl_certfile": self.entra.cert_file, "ssl_keyfile": self.entra.key_file},
            ),
            ServedApp(self.slack.app),
        ]
        self._apps: list[ServedApp] = []
        self._browsers: list[httpx.Client] = []
        self.trust = ssl.create_default_context(cafile=self.entra.ca_file)

    def __enter__(self) -> SignInWorld:
        for server in self._standins:
            server.__enter__()
        entra, slack = self._standins
        self.entra.url = entra.url.replace("127.0.0.1", "localhost")
        self.slack.url = slack.url
        self.bot = self.serve()
        return self

    def __exit__(self, *exc: object) -> None:
        for client in self._browsers:
            client.close()
        for served in self._apps:
            served.__exit__()
        for server in reversed(self._standins):
            server.__exit__()

    def settings(self, public_url: str, **overrides: str) -> dict[str, str]:
        return {
            "DATABASE_URL": self.db.url,
            "ENROLBOT_SECRET_KEY": KEY,
            "ENROLBOT_PUBLIC_URL": public_url,
            "MICROSOFT_APP_ID": APP_ID,
            "MICROSOFT_APP_PASSWORD": "app-password",
            "MICROSOFT_APP_TENANT_ID": TENANT,
            "MICROSOFT_CA_BUNDLE": self.entra.ca_file,
            "MICROSOFT_AUTHORITY_HOST": self.entra.url,
            "TEAMS_SERVICE_URL_HOSTS": "127.0.0.1",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_CLIENT_ID": CLIENT_ID,
            "SLACK_CLIENT_SECRET": CLIENT_SECRET,
            "SLACK_API_URL": f"{self.slack.url}/api/",
            "SLACK_OPENID_URL": self.slack_signin.url,
        } | overrides

    def serve(self, **overrides: str) -> ServedApp:
        """Another enrolbot over the same database and stand-ins, with `overrides` (a setting
        given as "" is unset)."""
        later = Later()
        served = ServedApp(later)
        settings = {k: v for k, v in self.settings(served.url, **overrides).items() if v}
        later.app = create_app(Settings(_env_file=None, **settings))
        self._apps.append(served.__enter__())
        return served

    def browser(self, served: ServedApp | None = None, **kw: Any) -> httpx.Client:
        """A browser of its own (its own cookies) that follows redirects, trusting the
        Entra stand-in's certificate."""
        base = (served or self.bot).url
        kw.setdefault("follow_redirects", True)
        client = httpx.Client(base_url=base, verify=self.trust, timeout=20, **kw)
        self._browsers.append(client)
        return client

    # Links ----------------------------------------------------------------------------------

    def link(self, slug: str, label: str | None = None) -> str:
        """The path of `slug`'s default link, or of a new labelled one."""

        async def work(session) -> str:
            org = await default_organisation(session)
            item = await get_item(session, org.id, slug)
            if label is None:
                link = await default_link(session, item)
            else:
                link = await create_link(
                    session, item, label=label, notes=None, created_by_user_id=None
                )
            return "/enrol/" + token_for(LinkSigner([KEY]), link)

        return self.db.run(work)

    def change_link(self, path: str, *, active: bool | None = None, delete: bool = False) -> None:
        async def work(session) -> None:
            org = await default_organisation(session)
            check = await check_token(session, LinkSigner([KEY]), path.rsplit("/", 1)[1], org.id)
            assert check.link is not None
            if active is not None:
                check.link.is_active = active
            if delete:
                await delete_link(session, check.link, deleted_by_user_id=None)

        self.db.run(work)


async def _prospect(session) -> None:
    org = await default_organisation(session)
    exists = await session.scalar(select(User.id).where(User.email == PROSPECT))
    if exists is None:
        session.add(
            User(
                organisation_id=org.id,
                email=PROSPECT,
                first_name="Pat",
                last_name="Prospect",
                type=UserType.PROSPECT,
            )
        )


def world_per_database(
    request: pytest.FixtureRequest, databases: Databases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SignInWorld]:
    """One served world per database for a module's tests, each test its own browser; a module
    makes it its `world` fixture with
    `world = pytest.fixture(world_per_database, scope="module", params=backends(), name="world")`."""
    url = databases.fresh(request.param)
    with SignInWorld(url, tmp_path_factory.mktemp("entra")) as w:
        yield w
    databases.drop(url)


def sign_in_and_open(
    world: SignInWorld, path: str, provider: str, **kw: Any
) -> tuple[httpx.Client, httpx.Response]:
    """Open `path` in a new browser, choose `provider` on the sign-in page, and follow every
    redirect: what the browser shows at the end."""
    browser = world.browser(**kw)
    chooser = browser.get(path)
    assert chooser.url.path == "/auth/login", chooser.text
    choice = browser.get(f"/auth/login?next={path}&provider={provider}")
    return browser, choice


def paragraphs(page: httpx.Response) -> list[str]:
    """The text of each paragraph, as read."""
    found = re.findall(r"<p>(.*?)</p>", page.text, re.S)
    return [html.unescape(re.sub(r"<[^>]+>|\s+", " ", p)).strip() for p in found]


def enrolments(world: SignInWorld, email: str) -> int:
    """How many enrolments the person with `email` has."""
    return world.db.scalar(
        select(func.count())
        .select_from(Enrolment)
        .join(User, User.id == Enrolment.user_id)
        .where(User.email == email)
    )
