"""Deep links in a real headless Chromium, with JavaScript off: a colleague opens a link, picks
how to sign in, signs in at Entra ID's or Slack's stand-in, and reads the page that says what
happened. The branches are all checked over HTTP in the test_deeplink_signin_*.py files; these
few follow a person through the main pages, check what makes them readable (a language, one
heading, the link to go on with), and take the screenshots a person looks at."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.browser import chromium, screenshot
from tests.support.entra_signin_standin import person
from tests.support.signin_world import SignInWorld
from tests.support.slack_signin_standin import slack_person


@pytest.fixture(scope="module")
def world(databases, tmp_path_factory) -> Iterator[SignInWorld]:
    url = databases.fresh("sqlite")  # the database's part is checked on both in the HTTP tests
    with SignInWorld(url, tmp_path_factory.mktemp("entra")) as w:
        yield w
    databases.drop(url)


@pytest.fixture(scope="module")
def chrome() -> Iterator:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(chrome):
    # A person's own browser: its own cookies, no JavaScript, and trusting the Entra ID
    # stand-in's throwaway certificate as a real browser trusts Microsoft's.
    context = chrome.new_context(java_script_enabled=False, ignore_https_errors=True)
    yield context.new_page()
    context.close()


def read(page) -> tuple[str, list[str]]:
    """The one heading and the paragraphs of a page, as a person reads them."""
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").count() == 1
    return page.locator("h1").inner_text(), [t.strip() for t in page.locator("p").all_inner_texts()]


def test_a_colleague_chooses_microsoft_is_enrolled_and_can_go_straight_to_the_item(
    world, page, tmp_path
):
    world.entra.signs_in = person("ann", "ann@acme.test")
    link = world.bot.url + world.link("safety-101")
    page.goto(link)
    assert read(page) == (
        "Sign in to continue",
        ["Sign in with your work account, so enrolbot knows who to enrol."],
    )
    screenshot(page, tmp_path, "sso-chooser")
    page.get_by_role("link", name="Sign in with Microsoft").click()
    assert page.url == link
    assert read(page)[0] == "Safety 101"
    assert read(page)[1][0] == "You're enrolled in Safety 101."
    go_on = page.get_by_role("link", name="Open Safety 101")
    assert go_on.get_attribute("href") == "https://learn.acme.test/safety-101"
    screenshot(page, tmp_path, "sso-enrolled")
    page.goto(link)  # again, still signed in
    assert read(page)[1][0] == "You're already enrolled in Safety 101, so nothing changed."
    screenshot(page, tmp_path, "sso-already-enrolled")


def test_a_colleague_signs_in_with_slack_and_reads_each_answer(world, page, tmp_path):
    world.slack_signin.signs_in = slack_person("U0DONE", "done@acme.test")
    page.goto(world.bot.url + world.link("safety-101"))
    page.get_by_role("link", name="Sign in with Slack").click()
    assert read(page)[1][0] == (
        "You've already completed Safety 101. Your completion stands and nothing changed."
    )
    screenshot(page, tmp_path, "sso-completed")
    disabled = world.link("privacy", label="Staff handbook")
    world.change_link(disabled, active=False)
    page.goto(world.bot.url + disabled)
    assert read(page) == (
        "Privacy basics",
        [
            "This link is currently disabled. Ask your training admin to reactivate it, or for "
            "another link."
        ],
    )
    screenshot(page, tmp_path, "sso-disabled")


def test_people_the_link_is_not_for_are_told_what_to_do(world, page, tmp_path):
    world.entra.signs_in = person("gus", "gus@partner.test", acct=1)
    page.goto(world.bot.url + world.link("onboarding"))
    page.get_by_role("link", name="Sign in with Microsoft").click()
    assert read(page)[1] == [
        "Guest accounts can't use internal enrolment links. If you need this training, ask "
        "your training admin.",
        "Signed in with the wrong account? Sign in with another one.",
    ]
    assert page.get_by_role("link", name="Sign in with another one").count() == 1
    screenshot(page, tmp_path, "sso-guest")
    page.context.clear_cookies()
    world.entra.signs_in = person("nia", "nia@acme.test")
    page.goto(world.bot.url + world.link("onboarding"))
    page.get_by_role("link", name="Sign in with Microsoft").click()
    assert read(page)[1] == [
        "There's no training account for nia@acme.test. Ask your training admin to add you, "
        "then open this link again.",
        "Signed in with the wrong account? Sign in with another one.",
    ]
    screenshot(page, tmp_path, "sso-no-account")


def test_where_no_sign_in_is_set_up_the_link_still_names_its_item(world, page, tmp_path):
    none = world.serve(
        MICROSOFT_APP_ID="", MICROSOFT_APP_PASSWORD="", SLACK_CLIENT_ID="", SLACK_CLIENT_SECRET=""
    )
    page.goto(none.url + world.link("safety-101"))
    heading, said = read(page)
    assert heading == "Safety 101" and len(said) == 3
    assert said[2].startswith("Admins: turn on sign-in with Microsoft Entra ID")
    screenshot(page, tmp_path, "sso-not-set-up")
