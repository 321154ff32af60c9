"""The pages a browser sees: the deep-link page, and the privacy and terms pages that the Teams
app package links. Checked over HTTP, and in a real headless Chromium for what a person sees."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import jsonschema
import pytest

from bot.app import create_app
from bot.settings import Settings
from bot.teams import package
from handlers.catalog import create_item
from handlers.links import default_link, token_for
from handlers.organisations import default_organisation
from handlers.signing import LinkSigner
from store.models import ItemKind
from tests.support.browser import chromium
from tests.support.servers import ServedApp
from tests.support.syncdb import SyncDB

KEY = "pages-test-key-0123456789abcdef0123"
HOSTILE = '<img src=x onerror="document.title=\'owned\'"> Fire & "Safety" <b>101</b>'
APP_ID = "6f1c2d3e-1111-2222-3333-444455556666"


def _serve(db_url: str, **settings: str) -> ServedApp:
    app = create_app(
        Settings(_env_file=None, ENROLBOT_SECRET_KEY=KEY, DATABASE_URL=db_url, **settings)
    )
    return ServedApp(app)


def _hostile_item_link(db_url: str) -> str:
    """An item whose title is HTML, as someone might import it; the path of its deep link."""

    async def work(session) -> str:
        org = await default_organisation(session)
        item = await create_item(
            session, org.id, slug="fire-safety", kind=ItemKind.TOPIC, title=HOSTILE
        )
        return "/enrol/" + token_for(LinkSigner([KEY]), await default_link(session, item))

    return SyncDB(db_url).run(work)


@pytest.fixture
def site(db_url) -> Iterator[tuple[ServedApp, str]]:
    path = _hostile_item_link(db_url)
    with _serve(db_url) as served:
        yield served, path


# Over HTTP -------------------------------------------------------------------------------------


def test_the_privacy_and_terms_pages_the_teams_package_links_are_served(site):
    served, _ = site
    manifest = json.loads(package.manifest(APP_ID, served.url))
    privacy = httpx.get(manifest["developer"]["privacyUrl"])
    terms = httpx.get(manifest["developer"]["termsOfUseUrl"])
    assert privacy.status_code == 200 and "<h1>Privacy</h1>" in privacy.text
    assert "ask your organisation's training\nadmin" in privacy.text
    assert terms.status_code == 200 and "<h1>Terms of use</h1>" in terms.text
    assert privacy.headers["content-type"] == "text/html; charset=utf-8"


def test_an_organisations_own_privacy_and_terms_pages_replace_ours(db_url, schemas):
    own = {
        "ENROLBOT_PRIVACY_URL": "https://acme.test/legal/privacy?from=enrolbot",
        "ENROLBOT_TERMS_URL": "https://acme.test/legal/terms",
    }
    with _serve(db_url, **own) as served:
        privacy = httpx.get(f"{served.url}/privacy")
        terms = httpx.get(f"{served.url}/terms")
    assert (privacy.status_code, privacy.headers["location"]) == (302, own["ENROLBOT_PRIVACY_URL"])
    assert (terms.status_code, terms.headers["location"]) == (302, own["ENROLBOT_TERMS_URL"])

    settings = Settings(_env_file=None, **own)
    manifest = json.loads(
        package.manifest(
            APP_ID, "https://enrol.acme.test", settings.privacy_url, settings.terms_url
        )
    )
    schema = json.loads((schemas / "teams-app-manifest.v1.30.schema.json").read_text())
    jsonschema.Draft4Validator(schema).validate(manifest)
    assert manifest["developer"]["privacyUrl"] == own["ENROLBOT_PRIVACY_URL"]
    assert manifest["developer"]["termsOfUseUrl"] == own["ENROLBOT_TERMS_URL"]
    assert manifest["developer"]["websiteUrl"] == "https://enrol.acme.test"


def test_page_urls_that_teams_would_refuse_are_refused_at_start():
    from bot.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="ENROLBOT_PRIVACY_URL must start with https://"):
        load_settings(_env_file=None, ENROLBOT_PRIVACY_URL="http://acme.test/privacy")


def test_the_deep_link_page_escapes_the_title_and_says_how_to_enrol_without_sign_in(site):
    served, path = site
    page = httpx.get(served.url + path)
    assert page.status_code == 200
    assert "<img" not in page.text and "<b>" not in page.text
    assert (
        "<h1>&lt;img src=x onerror=&#34;document.title=&#39;owned&#39;&#34;&gt; Fire &amp; "
        "&#34;Safety&#34; &lt;b&gt;101&lt;/b&gt;</h1>"
    ) in page.text
    assert "Slack or Microsoft Teams" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"


# In a real browser ----------------------------------------------------------------------------


@pytest.fixture
def browser():
    with chromium() as launched:
        yield launched


def test_in_a_browser_the_deep_link_page_shows_the_title_as_text_and_every_sentence_helps(
    site, browser, tmp_path
):
    served, path = site
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(served.url + path)
    assert page.title() == HOSTILE  # the script in the title never ran: it would set 'owned'
    assert page.locator("h1").inner_text() == HOSTILE
    assert page.locator("img").count() == 0 and page.locator("b").count() == 0
    # No sign-in is set up here: the page names the item and says what to do meanwhile.
    assert page.locator("p").all_inner_texts() == [
        f"This link is for {HOSTILE}. Opening it in a browser needs sign-in with your work "
        "account, which isn't set up here yet.",
        f"For now, click the Enrol button for {HOSTILE} where your admin posted it, in Slack "
        "or Microsoft Teams; if you can't find it, ask the admin who shared this link.",
        "Admins: turn on sign-in with Microsoft Entra ID (the MICROSOFT_APP_* settings) or "
        "Sign in with Slack (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET), as the guide to "
        "deep links (docs/deep-links.md) describes.",
    ]
    assert dialogs == []
    page.screenshot(path=tmp_path / "deeplink.png")


def test_in_a_browser_the_privacy_and_terms_pages_read_as_pages(site, browser):
    served, _ = site
    page = browser.new_page()
    page.goto(f"{served.url}/privacy")
    assert page.locator("h1").inner_text() == "Privacy"
    assert "To see, correct or remove what it holds about you" in page.inner_text("body")
    page.goto(f"{served.url}/terms")
    assert page.locator("h1").inner_text() == "Terms of use"
    assert page.title() == "enrolbot: terms of use"
