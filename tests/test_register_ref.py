"""The registration page opened from a registration button's link (/register?ref=...): what a
Teams guest, or a Slack guest whose modal could not open, is sent to. The token is the one the
signed reference names, never typed and never shown; a reference that was altered works for
nobody. The app in process over ASGI, on each database."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.settings import Settings
from handlers import tokens
from handlers.catalog import create_item
from handlers.organisations import default_organisation
from handlers.signing import LinkSigner, RegistrationRef, RegistrationRefSigner
from store.models import Enrolment, ItemKind, User, UserType
from tests.support.syncdb import SyncDB

KEY = "ref-test-key-0123456789abcdef0123456789"
FORM_TOKEN = re.compile(r'name="form" value="([^"]+)"')


@pytest.fixture
def app(db_url):
    return create_app(
        Settings(
            _env_file=None,
            ENROLBOT_SECRET_KEY=KEY,
            DATABASE_URL=db_url,
            ENROLBOT_PUBLIC_URL="https://learn.acme.test",
        )
    )


def _token(db_url: str, active: bool = True) -> tuple[int, str, str]:
    """A token for Safety 101: its id, its code and a signed reference to it."""

    async def work(session):
        org = await default_organisation(session)
        item = await create_item(
            session, org.id, slug="safety-101", kind=ItemKind.TOPIC, title="Safety 101"
        )
        token, code = await tokens.create_token(
            session,
            LinkSigner([KEY]),
            item,
            nickname="fair",
            created_by_user_id=None,
            active=active,
        )
        ref = RegistrationRefSigner([KEY]).sign(RegistrationRef(org.id, token.id))
        return token.id, code, ref

    return SyncDB(db_url).run(work)


async def _register(app, ref: str, **fields: str) -> tuple[httpx.Response, httpx.Response]:
    transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
        page = await client.get("/register", params={"ref": ref})
        form = FORM_TOKEN.search(page.text).group(1)
        typed = {"first_name": "Pat", "last_name": "Jones", "email": "pat@example.org"} | fields
        return page, await client.post("/register", data={"form": form, "ref": ref, **typed})


async def test_a_link_with_a_reference_registers_with_its_token_and_never_shows_the_code(
    app, db_url
):
    token_id, code, ref = _token(db_url)
    page, done = await _register(app, ref, token="NOT-A-TOKEN")
    assert page.status_code == 200
    assert 'name="token"' not in page.text and f'name="ref" value="{ref}"' in page.text
    assert "Your token comes with the link you followed" in page.text
    assert code not in page.text
    assert done.status_code == 200, done.text
    assert "If pat@example.org is new to us, you&#39;re now registered and enrolled in" in done.text

    async def enrolled(session):
        rows = await session.execute(
            select(User.type, Enrolment.registration_token_id).join(
                Enrolment, Enrolment.user_id == User.id
            )
        )
        return [tuple(r) for r in rows]

    assert SyncDB(db_url).run(enrolled) == [(UserType.PROSPECT, token_id)]


async def test_an_altered_reference_works_for_nobody_and_asks_for_the_token(app, db_url):
    _, _, ref = _token(db_url)
    transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
        page = await client.get("/register", params={"ref": ref[:-3] + "abc"})
    assert page.status_code == 400
    assert "a registration link that works here" in page.text
    assert 'name="token"' in page.text and 'name="ref"' not in page.text
    _, sent = await _register(app, ref[:-3] + "abc")  # posted with the altered reference
    assert sent.status_code == 400 and "a registration link that works here" in sent.text
    assert SyncDB(db_url).count(Enrolment) == 0


async def test_a_disabled_token_behind_a_reference_says_so_and_keeps_what_was_typed(app, db_url):
    _, _, ref = _token(db_url, active=False)
    _, refused = await _register(app, ref, first_name="Patricia")
    assert refused.status_code == 403
    assert "This token is currently disabled" in refused.text
    assert 'value="Patricia"' in refused.text and f'name="ref" value="{ref}"' in refused.text
    assert SyncDB(db_url).count(Enrolment) == 0
