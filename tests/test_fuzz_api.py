"""Random and malformed input at /api/v1: malformed bodies, wrong types, huge and odd pages,
bad cursors, random paths and headers. Never a 5xx or a traceback; every error is problem
details; nothing is written by a request that was refused. Hypothesis makes the cases
(FUZZ_EXAMPLES each); the app runs in process."""

from __future__ import annotations

import asyncio
import json
import os
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import create_app
from bot.settings import Settings
from handlers.api.keys import SCOPES, create_key
from store.db import make_engine, make_sessionmaker
from store.models import AuditEvent, CatalogItem, Enrolment, User, WebhookEndpoint
from tests.support import factories
from tests.support.asgi import SyncASGI
from tests.support.syncdb import SyncDB

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
SECRET = "api-fuzz-key-0123456789abcdef0123456789"
TABLES = (Enrolment, CatalogItem, User, AuditEvent, WebhookEndpoint)

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | text,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(text, inner, max_size=5),
    max_leaves=20,
)
FIELDS = ("email", "person_id", "item", "completed_at", "score", "title", "kind", "url")
bodies = st.dictionaries(st.sampled_from(FIELDS) | text, json_values, max_size=8)
POSTS = (
    "/api/v1/enrolments",
    "/api/v1/completions",
    "/api/v1/people",
    "/api/v1/enrolments/1/withdraw",
    "/api/v1/webhooks",
)
LISTS = (
    "/api/v1/catalog/items",
    "/api/v1/people",
    "/api/v1/enrolments",
    "/api/v1/groups",
    "/api/v1/webhooks",
)


async def _seed(url: str) -> str:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            org = await factories.organisation(session)
            await factories.item(session, org, "safety-101")
            await factories.user(session, org, "ann@example.com")
            return (await create_key(session, org.id, "fuzz", list(SCOPES))).key
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def api(databases):
    url = databases.fresh("sqlite")
    key = asyncio.run(_seed(url))
    app = create_app(
        Settings(
            _env_file=None,
            DATABASE_URL=url,
            ENROLBOT_SECRET_KEY=SECRET,
            ENROLBOT_API_RATE_BURST="1000000",
        )
    )
    transport = SyncASGI(app)
    client = httpx.Client(
        transport=transport, base_url="http://t", headers={"Authorization": f"Bearer {key}"}
    )
    yield client, SyncDB(url)
    client.close()


def _clean(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json", response.text
        problem = response.json()
        assert problem["status"] == response.status_code and problem["detail"]


def _counts(db: SyncDB) -> list[int]:
    return [db.count(t) for t in TABLES]


@FUZZ
@given(path=st.sampled_from(POSTS), body=bodies, key=st.none() | text)
def test_random_json_bodies(api, path, body, key):
    client, _ = api
    headers = {"Idempotency-Key": key} if key else {}
    try:
        content = json.dumps(body)  # NaN and Infinity as Python writes them: not JSON
        response = client.post(path, content=content, headers=headers)
    except UnicodeEncodeError:  # httpx refuses a header it cannot encode; nothing was sent
        return
    _clean(response)


@FUZZ
@given(path=st.sampled_from(POSTS), raw=st.binary(max_size=500), kind=text)
def test_malformed_bodies_change_nothing(api, path, raw, kind):
    client, db = api
    before = _counts(db)
    try:
        response = client.post(path, content=raw, headers={"Content-Type": kind[:100] or "x/y"})
    except UnicodeEncodeError:
        return
    _clean(response)
    if response.status_code >= 400:
        assert _counts(db) == before


@FUZZ
@given(slug=text, body=json_values)
def test_random_catalog_puts(api, slug, body):
    client, _ = api
    content = json.dumps(body)
    _clean(client.put(f"/api/v1/catalog/items/{quote(slug, safe='')}", content=content))


@FUZZ
@given(
    path=st.sampled_from(LISTS),
    limit=st.integers(-(2**70), 2**70) | text,
    cursor=text,
    extra=st.dictionaries(st.sampled_from((*FIELDS, "status", "source", "changed_since")), text),
)
def test_huge_pages_bad_cursors_and_odd_filters(api, path, limit, cursor, extra):
    client, _ = api
    params = {"limit": str(limit), "cursor": cursor, **extra}
    response = client.get(path, params=params)
    _clean(response)
    _clean(client.get(path, params={"limit": str(limit)}))


@FUZZ
@given(path=text, method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]))
def test_random_paths_and_methods(api, path, method):
    client, _ = api
    _clean(client.request(method, "/api/v1/" + quote(path, safe="/")))


@FUZZ
@given(auth=text)
def test_random_authorization_headers(api, auth):
    client, _ = api
    try:
        response = client.get("/api/v1/enrolments", headers={"Authorization": auth})
    except UnicodeEncodeError:
        return
    _clean(response)


def test_a_valid_cursor_with_its_payload_replaced_is_refused(api):
    client, _ = api
    tampered = json.dumps({"s": "x", "a": [1]})
    _clean(client.get("/api/v1/enrolments", params={"cursor": tampered}))
