"""Which sign-in a deep link offers, over HTTP: the browser chooses when both Microsoft and Slack
are set up, goes straight to the one that is, and without either the link still names its item
and says how to set sign-in up. One server per database."""

from __future__ import annotations

import re

import pytest

from tests.support.databases import backends
from tests.support.signin_world import paragraphs, world_per_database
from tests.support.slack_signin_standin import slack_person

world = pytest.fixture(world_per_database, scope="module", params=backends(), name="world")


def test_with_both_providers_the_browser_chooses(world):
    page = world.browser().get(world.link("onboarding"))
    assert page.url.path == "/auth/login" and "<h1>Sign in to continue</h1>" in page.text
    assert ">Sign in with Microsoft</a>" in page.text and ">Sign in with Slack</a>" in page.text


def test_with_one_provider_the_browser_goes_straight_to_it(world):
    only_slack = world.serve(MICROSOFT_APP_ID="", MICROSOFT_APP_PASSWORD="")
    world.slack_signin.signs_in = slack_person("U0ANN", "ann@acme.test")
    page = world.browser(only_slack).get(world.link("privacy"))
    assert page.status_code == 200 and page.url.path.startswith("/enrol/")
    assert re.match(r"You're (already )?enrolled in Privacy basics", paragraphs(page)[0])
    # No chooser on the way: the login answered with a redirect to Slack at once.
    login = next(r for r in page.history if r.url.path == "/auth/login")
    assert login.status_code == 302
    assert login.headers["location"].startswith(world.slack_signin.url + "authorize?")


def test_without_sign_in_a_link_names_its_item_and_says_how_to_set_sign_in_up(world):
    none = world.serve(
        MICROSOFT_APP_ID="", MICROSOFT_APP_PASSWORD="", SLACK_CLIENT_ID="", SLACK_CLIENT_SECRET=""
    )
    page = world.browser(none).get(world.link("safety-101"))
    assert page.status_code == 200 and "<h1>Safety 101</h1>" in page.text
    said = paragraphs(page)
    assert said[0] == (
        "This link is for Safety 101. Opening it in a browser needs sign-in with your work "
        "account, which isn't set up here yet."
    )
    assert "Enrol button for Safety 101" in said[1] and "docs/deep-links.md" in said[2]
    login = world.browser(none).get("/auth/login")
    assert login.status_code == 503 and "isn&#39;t set up" in login.text
