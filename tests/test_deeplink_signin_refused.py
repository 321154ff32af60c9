"""Sign-ins for deep links that must not work, over HTTP: forged state, tampered cookies, wrong
nonces, replayed callbacks, cancelled sign-ins, failures on our side and redirects elsewhere; no
code, state or token reaches the log. One server per database."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.databases import backends
from tests.support.entra_signin_standin import person
from tests.support.signin_world import SignInWorld, paragraphs, sign_in_and_open, world_per_database
from tests.support.slack_signin_standin import slack_person

world = pytest.fixture(world_per_database, scope="module", params=backends(), name="world")


def _to_the_callback(world: SignInWorld, path: str, provider: str) -> tuple[httpx.Client, str]:
    """Start a sign-in and let the provider answer; the callback URL it sends the browser to,
    not yet followed."""
    browser = world.browser()
    start = browser.get(f"/auth/login?next={path}&provider={provider}", follow_redirects=False)
    assert start.status_code == 302
    back = browser.get(start.headers["location"], follow_redirects=False)
    assert back.status_code == 302
    return browser, back.headers["location"]


@pytest.mark.parametrize("provider", ["entra", "slack"])
def test_a_callback_whose_state_is_not_the_sign_ins_is_refused(world, provider):
    browser, callback = _to_the_callback(world, world.link("onboarding"), provider)
    parts = urlsplit(callback)
    query = parse_qs(parts.query)
    forged = f"{parts.path}?code={query['code'][0]}&state=forged-state"
    page = browser.get(forged)
    assert page.status_code == 400
    assert paragraphs(page)[0].startswith("Sign-in didn't finish, so nothing changed.")
    assert not any(c.startswith("enrolbot_session") for c in browser.cookies)


def test_a_tampered_sign_in_cookie_is_no_sign_in(world):
    browser, callback = _to_the_callback(world, world.link("onboarding"), "entra")
    value = browser.cookies["enrolbot_signin"]
    browser.cookies.clear()
    browser.cookies.set("enrolbot_signin", value[:-4] + "AAAA", path="/auth/")
    page = browser.get(callback)
    assert page.status_code == 400
    assert paragraphs(page)[0].startswith("This sign-in was already used or has expired")


@pytest.mark.parametrize("provider", ["entra", "slack"])
def test_no_code_state_or_token_reaches_the_log(world, provider, caplog):
    caplog.set_level(logging.DEBUG)
    browser, callback = _to_the_callback(world, world.link("onboarding"), provider)
    query = parse_qs(urlsplit(callback).query)
    code, state = query["code"][0], query["state"][0]
    flow = browser.cookies["enrolbot_signin"]
    forged = browser.get(f"{urlsplit(callback).path}?code={code}&state={state}x")
    assert forged.status_code == 400
    assert "refused a sign-in" in caplog.text
    for secret in (code, state, flow):
        assert secret not in caplog.text


@pytest.mark.parametrize("provider", ["entra", "slack"])
def test_an_id_token_whose_nonce_is_not_the_sign_ins_is_refused(world, provider):
    standin = world.entra if provider == "entra" else world.slack_signin
    standin.wrong_nonce = True
    try:
        browser, page = sign_in_and_open(world, world.link("onboarding"), provider)
    finally:
        standin.wrong_nonce = False
    assert page.status_code == 400
    assert paragraphs(page)[0].startswith("Sign-in didn't finish")
    assert not any(c.startswith("enrolbot_session") for c in browser.cookies)


@pytest.mark.parametrize("provider", ["entra", "slack"])
def test_a_replayed_callback_is_refused(world, provider):
    standin = world.entra if provider == "entra" else world.slack_signin
    standin.signs_in = (
        person("ann", "ann@acme.test")
        if provider == "entra"
        else slack_person("U0ANN", "ann@acme.test")
    )
    browser, callback = _to_the_callback(world, world.link("privacy"), provider)
    flow = dict(browser.cookies)
    first = browser.get(callback)
    assert first.status_code == 200
    # The same browser again: the sign-in in flight was cleared by the first callback.
    replay = world.browser().get(callback)
    assert replay.status_code == 400
    assert paragraphs(replay)[0].startswith("This sign-in was already used or has expired")
    # Someone who copied the sign-in cookie too: the provider will not redeem a code twice.
    reused = standin.codes.reused
    thief = world.browser(cookies=flow)
    stolen = thief.get(callback)
    assert stolen.status_code == 400 and paragraphs(stolen)[0].startswith("Sign-in didn't finish")
    assert standin.codes.reused == reused + 1
    assert not any(c.startswith("enrolbot_session") for c in thief.cookies)


@pytest.mark.parametrize("provider", ["entra", "slack"])
def test_a_sign_in_the_person_cancelled_says_so_and_keeps_nothing(world, provider):
    browser, callback = _to_the_callback(world, world.link("onboarding"), provider)
    parts = urlsplit(callback)
    state = parse_qs(parts.query)["state"][0]
    page = browser.get(f"{parts.path}?error=access_denied&state={state}")
    assert page.status_code == 400
    assert paragraphs(page)[0].startswith("Sign-in didn't finish, so nothing changed.")
    assert not any(c.startswith("enrolbot_session") for c in browser.cookies)


def test_a_failure_on_our_side_gets_a_page_that_says_so(world):
    world.slack_signin.signs_in = slack_person("U0OFF", "off@acme.test")
    world.slack.fail_next("users.info", 200, {"ok": False, "error": "fatal_error"})
    _, page = sign_in_and_open(world, world.link("onboarding"), "slack")
    assert page.status_code == 500
    assert "<h1>Something went wrong</h1>" in page.text
    assert paragraphs(page)[0].startswith("Sorry, something went wrong on our side")


def test_a_tampered_session_cookie_is_no_session(world):
    world.slack_signin.signs_in = slack_person("U0ANN", "ann@acme.test")
    browser, _ = sign_in_and_open(world, world.link("privacy"), "slack")
    value = browser.cookies["enrolbot_session"]
    forged = value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB")
    other = world.browser(cookies={"enrolbot_session": forged})
    page = other.get(world.link("privacy"), follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/auth/login?next=")


@pytest.mark.parametrize(
    "next_path",
    ["https://evil.test/", "//evil.test/x", "/\\evil.test", "javascript:alert(1)"],
)
def test_sign_in_never_sends_the_browser_elsewhere(world, next_path):
    world.slack_signin.signs_in = slack_person("U0ANN", "ann@acme.test")
    browser = world.browser()
    page = browser.get("/auth/login", params={"next": next_path, "provider": "slack"})
    assert page.status_code == 200
    assert page.url.path == "/auth/signed-in" and page.url.host == "127.0.0.1"
    assert "<h1>You&#39;re signed in</h1>" in page.text
