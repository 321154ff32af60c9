"""The registration page end to end when something is wrong: tokens that don't work, mistakes named
on their fields with what was typed kept, a post without the form's cookie, and the same in a real
browser. One server per database for the module; each test uses people and tokens of its own."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest

from tests import test_web_pages
from tests.support.databases import backends
from tests.support.register_site import (
    FORM_TOKEN,
    Visitor,
    mails_to,
    person,
    site_per_database,
    text_of,
    user_of,
)

site = pytest.fixture(site_per_database, scope="module", params=backends(), name="site")


# Tokens that don't work --------------------------------------------------------------------------


def test_a_deactivated_token_says_it_is_currently_disabled_and_keeps_what_was_typed(site):
    page = Visitor(site).send(**person("kim@example.org", site.codes["paused"], "Kim", "O'Neil"))
    assert page.status_code == 403
    assert "This token is currently disabled." in page.text
    assert 'name="first_name" value="Kim"' in page.text
    assert 'name="last_name" value="O&#39;Neil"' in page.text
    assert 'name="email" value="kim@example.org"' in page.text
    assert f'name="token" value="{site.codes["paused"]}"' in page.text
    assert 'aria-invalid="true" aria-describedby="token-hint token-error"' in page.text
    assert user_of(site, "kim@example.org") is None


def test_unknown_mistyped_and_deleted_tokens_get_one_and_the_same_page(site):
    real = site.codes["fair"]
    mistyped = real[:-1] + ("2" if real[-1] != "2" else "3")
    pages = {}
    for name, code in (
        ("unknown", "ZZZZZ-ZZZZZ"),
        ("mistyped", mistyped),
        ("deleted", site.codes["gone"]),
        ("garbage", "not a code at all"),
    ):
        page = Visitor(site).send(**person("lou@example.org", code, "Lou"))
        assert page.status_code == 404
        body = page.text.replace(f'value="{code}"', 'value="…"')
        pages[name] = re.sub(FORM_TOKEN, "", body)
    assert len(set(pages.values())) == 1
    assert "There is no registration token with that code." in pages["unknown"]
    assert user_of(site, "lou@example.org") is None


def test_mistakes_are_named_on_their_fields_and_what_was_typed_is_kept(site):
    page = Visitor(site).send(first_name="", last_name="<b>Lee</b>", email="not-an-email", token="")
    assert page.status_code == 400
    assert "<title>Error: Register for training</title>" in page.text
    for sentence in (
        "Enter your first name.",
        "Enter your email address, like name@example.com.",
        "Enter the token you were given, like ABCDE-FGHJK.",
    ):
        assert sentence in page.text
    assert 'name="last_name" value="&lt;b&gt;Lee&lt;/b&gt;"' in page.text
    assert 'name="email" value="not-an-email"' in page.text
    assert '<a href="#first_name">Enter your first name.</a>' in page.text


def test_a_post_without_the_forms_cookie_is_shown_the_form_again(site):
    visitor = Visitor(site)
    form = FORM_TOKEN.search(visitor.open().text).group(1)
    stranger = httpx.post(
        f"{site.url}/register", data={"form": form, **person("eve@example.org", site.codes["fair"])}
    )
    assert stranger.status_code == 400
    assert (
        "This form was open for too long, or your browser didn&#39;t keep its cookie."
        in stranger.text
    )
    assert 'name="email" value="eve@example.org"' in stranger.text
    forged = visitor.http.post(
        "/register", data={"form": "forged", **person("eve@example.org", site.codes["fair"])}
    )
    assert forged.status_code == 400
    assert user_of(site, "eve@example.org") is None


# In a real browser -------------------------------------------------------------------------------

browser = test_web_pages.browser  # the one copy of the Chromium fixture


def test_in_a_browser_a_person_registers_from_the_link_and_mistakes_keep_their_input(
    site, browser, tmp_path
):
    page = browser.new_page()
    page.goto(f"{site.url}/register?token={site.codes['newsletter']}")
    assert page.title() == "Register for training"
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").count() == 1
    assert page.get_by_label("Token").input_value() == site.codes["newsletter"]
    page.get_by_label("First name").fill("Rae")
    page.get_by_label("Email address").fill("rae@example")
    page.screenshot(path=tmp_path / "register-form.png", full_page=True)
    page.get_by_role("button", name="Register").click()
    # Nothing typed is lost; each mistake is said on its field and in the summary.
    assert page.title() == "Error: Register for training"
    assert page.get_by_label("First name").input_value() == "Rae"
    assert page.get_by_label("Email address").input_value() == "rae@example"
    assert page.get_by_label("Token").input_value() == site.codes["newsletter"]
    assert page.locator("#last_name-error").inner_text() == "Enter your last name."
    assert page.get_by_label("Last name").get_attribute("aria-describedby") == "last_name-error"
    page.screenshot(path=tmp_path / "register-errors.png", full_page=True)
    page.get_by_label("Last name").fill("Kaur")
    page.get_by_label("Email address").fill("rae@example.org")
    page.get_by_role("button", name="Register").click()
    assert page.locator("h1").inner_text() == "Check your email"
    assert (
        page.locator("p")
        .first.inner_text()
        .startswith("We've sent an email to rae@example.org. Open the link in it within 7 days")
    )
    page.screenshot(path=tmp_path / "register-done.png", full_page=True)
    (mail,) = mails_to(site, "rae@example.org")
    link = urlsplit(re.search(r"^(http://\S+)$", text_of(mail), re.M).group(1))
    page.goto(f"{site.url}{link.path}?{link.query}")
    assert page.locator("h1").inner_text() == "Email address confirmed"
    page.get_by_role("link", name="Open Safety 101").wait_for()
    page.screenshot(path=tmp_path / "register-confirmed.png", full_page=True)
