"""Random input at the sign-in and deep-link endpoints: never a 5xx or a traceback, never a
redirect off our host, and nobody signed in, kept or enrolled by anything but a real sign-in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store.models import Enrolment, Identity
from tests.support.signin_world import SignInWorld

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)
cookie_text = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=300)


@pytest.fixture(scope="module")
def world(databases, tmp_path_factory) -> Iterator[SignInWorld]:
    url = databases.fresh("sqlite")
    with SignInWorld(url, tmp_path_factory.mktemp("entra")) as w:
        w.path = w.link("safety-101")
        yield w
    databases.drop(url)


def snapshot(world: SignInWorld) -> tuple[int, int]:
    return world.db.count(Identity), world.db.count(Enrolment)


def ours(response) -> None:
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    location = response.headers.get("location", "")
    if location and response.url.path != "/auth/login":  # login alone goes to a provider
        assert not urlsplit(location).netloc, location


@FUZZ
@given(next_path=text, provider=text, account=text)
def test_random_sign_in_requests(world, next_path, provider, account):
    with world.browser(follow_redirects=False) as browser:
        response = browser.get(
            "/auth/login", params={"next": next_path, "provider": provider, "account": account}
        )
    ours(response)
    if response.status_code == 302:  # to a provider: and back only to a path of ours
        flow = browser.cookies["enrolbot_signin"]
        assert flow and urlsplit(response.headers["location"]).netloc in (
            urlsplit(world.entra.url).netloc,
            urlsplit(world.slack.url).netloc,
        )


@FUZZ
@given(
    provider=st.sampled_from(["entra", "slack", "other"]),
    query=st.dictionaries(
        st.sampled_from(["code", "state", "error", "session_state", "client_info"]), text
    ),
    flow=cookie_text,
)
def test_random_callbacks_sign_no_one_in(world, provider, query, flow):
    before = snapshot(world)
    with world.browser(follow_redirects=False, cookies={"enrolbot_signin": flow}) as browser:
        response = browser.get(f"/auth/callback/{provider}", params=query)
    ours(response)
    assert response.status_code == 400
    assert "enrolbot_session" not in browser.cookies
    assert snapshot(world) == before


@FUZZ
@given(query=st.dictionaries(st.sampled_from(["code", "state", "error"]), text))
def test_random_answers_to_a_real_sign_in_sign_no_one_in(world, query):
    before = snapshot(world)
    with world.browser(follow_redirects=False) as browser:
        started = browser.get(f"/auth/login?next={world.path}&provider=entra")
        assert started.status_code == 302
        ours(browser.get("/auth/callback/entra", params=query))
    assert "enrolbot_session" not in browser.cookies
    assert snapshot(world) == before


@FUZZ
@given(session=cookie_text)
def test_random_session_cookies_are_no_session(world, session):
    before = snapshot(world)
    with world.browser(follow_redirects=False, cookies={"enrolbot_session": session}) as browser:
        response = browser.get(world.path)
    ours(response)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/auth/login?next=/enrol/")
    assert snapshot(world) == before
