"""Random input at the registration page: never a 5xx or a traceback, whatever the body or the
fields, and nobody is created or enrolled without a real token. Hypothesis makes the cases
(FUZZ_EXAMPLES each); the app runs in process, where each case costs a millisecond or two."""

from __future__ import annotations

import os
import re

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import create_app
from bot.settings import Settings
from store.models import Enrolment, User
from tests.support.asgi import SyncASGI
from tests.support.syncdb import SyncDB

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
FORM_TOKEN = re.compile(r'name="form" value="([^"]+)"')
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=400)


@pytest.fixture(scope="module")
def page(databases):
    url = databases.fresh("sqlite")
    app = create_app(
        Settings(
            _env_file=None,
            DATABASE_URL=url,
            ENROLBOT_SECRET_KEY="fuzz-test-key-0123456789abcdef0123456",
            ENROLBOT_REGISTER_LIMIT_ADDRESS="100000",
            ENROLBOT_REGISTER_LIMIT_TOKEN="100000",
        )
    )
    client = httpx.Client(transport=SyncASGI(app), base_url="http://t")
    form = FORM_TOKEN.search(client.get("/register").text).group(1)
    yield client, form, SyncDB(url)
    client.close()


def _counts(db: SyncDB) -> tuple[int, int]:
    return db.count(User), db.count(Enrolment)


def _clean(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text


@FUZZ
@given(body=text)
def test_random_bodies(page, body):
    client, _, db = page
    before = _counts(db)
    _clean(
        client.post(
            "/register",
            content=body.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    )
    assert _counts(db) == before


@FUZZ
@given(first=text, last=text, email=text, token=text, query=text)
def test_random_fields_with_a_good_form_token(page, first, last, email, token, query):
    client, form, db = page
    before = _counts(db)
    fields = {"form": form, "first_name": first, "last_name": last, "email": email, "token": token}
    response = client.post("/register", data=fields)
    _clean(response)
    assert response.status_code in (400, 404)
    assert _counts(db) == before
    _clean(client.get("/register", params={"token": query}))
    _clean(client.get("/register/confirm", params={"t": query}))
