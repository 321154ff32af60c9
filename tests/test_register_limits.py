"""The registration page's rate limits, per client address and per token: the app in process
(no server needed to choose a client's address), and the sliding window on its own."""

from __future__ import annotations

import logging
import re

import httpx
import pytest

from bot.app import RedactLinkTokens, create_app
from bot.settings import Settings
from bot.web.ratelimit import SlidingWindow
from handlers import tokens
from handlers.catalog import create_item
from handlers.organisations import default_organisation
from handlers.signing import LinkSigner
from store.models import ItemKind
from tests.support.syncdb import SyncDB

KEY = "limits-test-key-0123456789abcdef012345"
FORM_TOKEN = re.compile(r'name="form" value="([^"]+)"')


def _codes(db_url: str, count: int) -> list[str]:
    async def work(session) -> list[str]:
        org = await default_organisation(session)
        item = await create_item(session, org.id, slug="s", kind=ItemKind.TOPIC, title="S")
        made = [
            await tokens.create_token(
                session, LinkSigner([KEY]), item, nickname=str(n), created_by_user_id=None
            )
            for n in range(count)
        ]
        return [tokens.shown(code) for _, code in made]

    return SyncDB(db_url).run(work)


@pytest.fixture
def app(db_url):
    return create_app(
        Settings(
            _env_file=None,
            ENROLBOT_SECRET_KEY=KEY,
            DATABASE_URL=db_url,
            ENROLBOT_REGISTER_LIMIT_ADDRESS="3",
            ENROLBOT_REGISTER_LIMIT_TOKEN="2",
            ENROLBOT_PUBLIC_URL="https://learn.acme.test",
        )
    )


async def _send(app, address: str, token: str, email: str = "a@example.org") -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
        form = FORM_TOKEN.search((await client.get("/register")).text).group(1)
        fields = {"first_name": "A", "last_name": "B", "email": email, "token": token}
        return await client.post("/register", data={"form": form, **fields})


async def test_too_many_tries_from_one_address_get_429_saying_when_to_retry(app, db_url):
    (code,) = _codes(db_url, 1)
    for n, guess in enumerate(("AAAAA-AAAAA", "BBBBB-BBBBB", "CCCCC-CCCCC")):
        assert (await _send(app, "203.0.113.7", guess, f"g{n}@example.org")).status_code == 404
    page = await _send(app, "203.0.113.7", code, "late@example.org")
    assert page.status_code == 429
    assert 540 <= int(page.headers["retry-after"]) <= 600
    assert re.search(
        r"There have been too many registration attempts from your network\. Please try again "
        r"in 10 minutes \(after \d\d:\d\d UTC\); what you typed is kept below\.",
        page.text,
    )
    assert 'name="email" value="late@example.org"' in page.text
    assert f'name="token" value="{code}"' in page.text
    # Another address is not held up.
    assert (await _send(app, "198.51.100.9", code, "other@example.org")).status_code == 200


async def test_too_many_tries_with_one_token_get_429_from_any_address(app, db_url):
    first, second = _codes(db_url, 2)
    for n in range(2):
        page = await _send(app, f"192.0.2.{n}", first.lower(), f"p{n}@example.org")
        assert page.status_code == 200
    page = await _send(app, "192.0.2.50", first, "p9@example.org")
    assert page.status_code == 429
    assert "too many registration attempts with this token" in page.text
    assert (await _send(app, "192.0.2.50", second, "p9@example.org")).status_code == 200


async def test_over_https_the_forms_cookie_is_secure(app, db_url):
    transport = httpx.ASGITransport(app=app, client=("192.0.2.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
        cookie = (await client.get("/register")).headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_the_window_slides():
    now = [0.0]
    window = SlidingWindow(2, 60, clock=lambda: now[0])
    assert window.attempt("a") == 0 and window.attempt("a") == 0
    now[0] = 30
    assert window.attempt("a") == 30  # the first try leaves the window at 60
    assert window.attempt("b") == 0
    now[0] = 60  # both tries have left the window
    assert window.attempt("a") == 0 and window.attempt("a") == 0
    assert window.attempt("a") == 60


def test_the_window_forgets_idle_keys_and_never_grows_past_its_bound():
    now = [0.0]
    window = SlidingWindow(1, 10, max_keys=3, clock=lambda: now[0])
    for key in "abc":
        window.attempt(key)
    now[0] = 20
    window.attempt("d")
    assert set(window._hits) == {"d"}
    for key in "efg":
        window.attempt(key)
    assert len(window._hits) <= 3


def test_the_access_log_keeps_no_registration_code_nor_confirmation_link():
    for path in (
        "/register?token=7KQ2M-XW4HP",
        "/register/confirm?t=SIGNED.SECRET.PART",
        "/register?ref=SIGNED.SECRET.PART",
    ):
        record = logging.LogRecord(
            "uvicorn.access", logging.INFO, __file__, 1, '"GET %s HTTP/1.1" %d', (path, 200), None
        )
        RedactLinkTokens().filter(record)
        assert "7KQ2M" not in record.getMessage() and "SECRET" not in record.getMessage()
        assert "=…" in record.getMessage()
