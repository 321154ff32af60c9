"""The registration page end to end: the real app served over HTTP, a real SMTP server on
loopback receiving the invitation, and what the database holds afterwards. One server per
database for the module; each test uses people and tokens of its own."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from bot.app import create_app
from bot.settings import Settings
from handlers import tokens
from handlers.catalog import create_item
from handlers.links import default_link, token_for
from handlers.organisations import default_organisation
from handlers.signing import LinkSigner
from store.models import (
    Enrolment,
    EnrolmentSource,
    ItemKind,
    User,
    UserStatus,
    UserType,
)
from tests import test_web_pages
from tests.support.databases import backends
from tests.support.servers import ServedApp
from tests.support.smtp import Inbox, smtp_server
from tests.support.syncdb import SyncDB

KEY = "register-test-key-0123456789abcdef0123"
SIGNER = LinkSigner([KEY])
PUBLIC_URL = "http://learn.acme.test"  # as served here; https sets a Secure cookie
FORM_TOKEN = re.compile(r'name="form" value="([^"]+)"')


@dataclass
class Site:
    url: str
    db: SyncDB
    inbox: Inbox
    codes: dict[str, str]  # token nickname -> code
    link_token: str  # an internal link's signed token


def _seed(session_work_db: SyncDB) -> tuple[dict[str, str], str]:
    async def work(session) -> tuple[dict[str, str], str]:
        org = await default_organisation(session)
        org.name = "Acme"
        safety = await create_item(
            session,
            org.id,
            slug="safety-101",
            kind=ItemKind.TOPIC,
            title="Safety 101",
            url="https://learn.acme.test/safety-101",
        )
        gdpr = await create_item(
            session, org.id, slug="gdpr-basics", kind=ItemKind.ARTICLE, title="GDPR basics"
        )
        session.add_all(
            [
                User(
                    organisation_id=org.id,
                    email="ann@acme.test",
                    first_name="Ann",
                    last_name="Lee",
                    type=UserType.STAFF,
                ),
                User(
                    organisation_id=org.id,
                    email="dee@acme.test",
                    first_name="Dee",
                    last_name="Old",
                    status=UserStatus.DEACTIVATED,
                ),
            ]
        )
        codes = {}
        for nickname, item in (
            ("fair", safety),
            ("newsletter", safety),
            ("gdpr", gdpr),
            ("paused", safety),
            ("gone", safety),
        ):
            token, code = await tokens.create_token(
                session, SIGNER, item, nickname=nickname, created_by_user_id=None
            )
            codes[nickname] = tokens.shown(code)
            if nickname == "paused":
                tokens.set_active(token, False)
            if nickname == "gone":
                await tokens.delete_token(session, token, deleted_by_user_id=None)
        return codes, token_for(SIGNER, await default_link(session, safety))

    return session_work_db.run(work)


@pytest.fixture(scope="module", params=backends())
def site(request, databases) -> Iterator[Site]:
    url = databases.fresh(request.param)
    db = SyncDB(url)
    codes, link_token = _seed(db)
    with smtp_server() as inbox:
        settings = Settings(
            _env_file=None,
            ENROLBOT_SECRET_KEY=KEY,
            DATABASE_URL=url,
            ENROLBOT_PUBLIC_URL=PUBLIC_URL,
            SMTP_URL=inbox.url,
            ENROLBOT_DELIVERY_SECONDS="0.1",
            ENROLBOT_REGISTER_LIMIT_ADDRESS="1000",
        )
        with ServedApp(create_app(settings)) as served:
            yield Site(served.url, db, inbox, codes, link_token)
    databases.drop(url)


class Visitor:
    """A browser without JavaScript: it keeps cookies, opens the form and sends it."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.http = httpx.Client(base_url=site.url, timeout=10)

    def open(self, query: str = "") -> httpx.Response:
        return self.http.get("/register" + query)

    def send(self, **fields: str) -> httpx.Response:
        form = FORM_TOKEN.search(self.open().text).group(1)
        return self.http.post("/register", data={"form": form, **fields})


def person(email: str, token: str, first: str = "Pat", last: str = "Jones") -> dict[str, str]:
    return {"first_name": first, "last_name": last, "email": email, "token": token}


def enrolments_of(site: Site, email: str) -> list[tuple]:
    return site.db.run(
        lambda s: _rows(
            s,
            select(Enrolment.item_id, Enrolment.source, Enrolment.registration_token_id)
            .join(User, User.id == Enrolment.user_id)
            .where(User.email == email),
        )
    )


async def _rows(session, statement) -> list[tuple]:
    return [tuple(r) for r in await session.execute(statement)]


def user_of(site: Site, email: str) -> tuple | None:
    rows = site.db.run(
        lambda s: _rows(
            s,
            select(User.first_name, User.last_name, User.type, User.email_confirmed_at).where(
                User.email == email
            ),
        )
    )
    return rows[0] if rows else None


def mails_to(site: Site, address: str, count: int = 1) -> list:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [m for rcpt, m in site.inbox.messages if address in rcpt]
        if len(found) >= count:
            return found
        time.sleep(0.05)
    return [m for rcpt, m in site.inbox.messages if address in rcpt]


def text_of(mail) -> str:
    return mail.get_content().replace("\r\n", "\n")


def paragraphs(page: httpx.Response) -> list[str]:
    return [
        re.sub(r"\s+", " ", p).strip() for p in re.findall(r"<p[^>]*>(.*?)</p>", page.text, re.S)
    ]


# The form ----------------------------------------------------------------------------------------


def test_the_form_is_filled_in_from_the_link_and_sets_its_cookie(site):
    page = Visitor(site).open(f"?token={site.codes['fair']}")
    assert page.status_code == 200
    assert f'name="token" value="{site.codes["fair"]}"' in page.text
    assert '<html lang="en">' in page.text and page.text.count("<h1>") == 1
    for field, label in (
        ("first_name", "First name"),
        ("last_name", "Last name"),
        ("email", "Email address"),
        ("token", "Token"),
    ):
        assert f'<label for="{field}">{label}</label>' in page.text
    assert "<script" not in page.text
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Path=/register" in cookie and "SameSite=lax" in cookie
    assert page.headers["cache-control"] == "no-store"


# Who registers -----------------------------------------------------------------------------------


def test_an_existing_user_is_enrolled_told_so_and_given_the_way_to_the_item(site):
    page = Visitor(site).send(**person("ANN@acme.test", site.codes["fair"], "Someone", "Else"))
    assert page.status_code == 200
    assert "<h1>You&#39;re enrolled</h1>" in page.text
    assert "You&#39;re enrolled in Safety 101." in page.text
    assert '<a href="https://learn.acme.test/safety-101">Open Safety 101</a>' in page.text
    (row,) = enrolments_of(site, "ann@acme.test")
    assert row[1] is EnrolmentSource.REGISTRATION and row[2] is not None
    # A public page changes nobody's name, and sends a known person no invitation.
    assert user_of(site, "ann@acme.test")[:3] == ("Ann", "Lee", UserType.STAFF)
    again = Visitor(site).send(**person("ann@acme.test", site.codes["newsletter"]))
    assert "You&#39;re already enrolled in Safety 101, so nothing changed." in again.text
    time.sleep(0.5)  # delivery runs every 0.1 s: an invitation would be here by now
    assert [m for rcpt, m in site.inbox.messages if "ann@acme.test" in rcpt] == []


def test_a_new_person_becomes_a_prospect_is_enrolled_and_confirms_through_the_email(site):
    page = Visitor(site).send(**person("Pat.Jones@Example.org", site.codes["fair"]))
    assert page.status_code == 200
    assert paragraphs(page) == [
        "You&#39;re registered and enrolled in Safety 101.",
        "We&#39;ve sent an email to pat.jones@example.org. Open the link in it within 7 days to "
        "confirm your address and start Safety 101.",
        "No email after a few minutes? Look in your spam folder, or send this form again with "
        "the same details for a new one.",
    ]
    first, last, kind, confirmed = user_of(site, "pat.jones@example.org")
    assert (first, last, kind, confirmed) == ("Pat", "Jones", UserType.PROSPECT, None)
    (row,) = enrolments_of(site, "pat.jones@example.org")
    assert row[1] is EnrolmentSource.REGISTRATION

    (mail,) = mails_to(site, "pat.jones@example.org")
    assert mail["Subject"] == "Confirm your email address to start Safety 101"
    assert mail["From"] == "alerts@acme.test"
    body = text_of(mail)
    assert body.startswith(
        "Hello Pat,\n\nYou registered for Safety 101 with Acme, and you're enrolled."
    )
    link = re.search(r"^(http://\S+)$", body, re.M).group(1)
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{PUBLIC_URL}/register/confirm"

    opened = httpx.get(f"{site.url}{parts.path}?{parts.query}")
    assert opened.status_code == 200
    assert "<h1>Email address confirmed</h1>" in opened.text
    assert "Thank you, Pat: your email address pat.jones@example.org is confirmed." in opened.text
    assert '<a href="https://learn.acme.test/safety-101">Open Safety 101</a>' in opened.text
    assert user_of(site, "pat.jones@example.org")[3] is not None
    assert httpx.get(f"{site.url}{parts.path}?{parts.query}").status_code == 200  # twice is fine

    # Confirmed, Pat is a known person: the next token enrols without another email.
    page = Visitor(site).send(**person("pat.jones@example.org", site.codes["gdpr"]))
    assert "You&#39;re enrolled in GDPR basics." in page.text
    assert (
        "You&#39;ll find it on your learning platform when you sign in as pat.jones@example.org."
        in page.text
    )
    time.sleep(0.5)
    assert len(mails_to(site, "pat.jones@example.org")) == 1


def test_a_tampered_or_expired_confirmation_link_is_refused(site):
    Visitor(site).send(**person("tam@example.org", site.codes["fair"], "Tam"))
    (mail,) = mails_to(site, "tam@example.org")
    link = urlsplit(re.search(r"^(http://\S+)$", text_of(mail), re.M).group(1))
    token = link.query.removeprefix("t=")
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    page = httpx.get(f"{site.url}/register/confirm", params={"t": tampered})
    assert page.status_code == 400
    assert "<h1>This link doesn&#39;t work</h1>" in page.text
    assert httpx.get(f"{site.url}/register/confirm").status_code == 400

    class EightDaysAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 8 * 86400

    old = URLSafeTimedSerializer([KEY], salt="enrolbot.register-confirm", signer=EightDaysAgo)
    user_id = site.db.run(
        lambda s: s.scalar(select(User.id).where(User.email == "tam@example.org"))
    )
    item_id = enrolments_of(site, "tam@example.org")[0][0]
    org_id = site.db.run(lambda s: s.scalar(select(User.organisation_id).limit(1)))
    expired = old.dumps([org_id, user_id, "tam@example.org", item_id])
    page = httpx.get(f"{site.url}/register/confirm", params={"t": expired})
    assert page.status_code == 410
    assert "This confirmation link has expired: links work for 7 days." in page.text
    assert user_of(site, "tam@example.org")[3] is None


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


# Tokens and links cannot be confused -------------------------------------------------------------


def test_a_token_never_works_as_a_link_and_a_link_never_as_a_token(site):
    code = site.codes["fair"]
    page = httpx.get(f"{site.url}/enrol/{code}")
    assert page.status_code == 404
    assert "This enrolment link isn&#39;t valid" in page.text
    page = Visitor(site).send(**person("max@example.org", site.link_token, "Max"))
    assert page.status_code == 404
    assert "There is no registration token with that code." in page.text
    assert user_of(site, "max@example.org") is None
    # The link itself still works as a link.
    assert httpx.get(f"{site.url}/enrol/{site.link_token}").status_code == 200


def test_a_deactivated_user_is_refused(site):
    page = Visitor(site).send(**person("dee@acme.test", site.codes["fair"], "Dee"))
    assert page.status_code == 403
    assert "The account for this email address is deactivated" in page.text
    assert enrolments_of(site, "dee@acme.test") == []


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
    assert page.locator("p").first.inner_text() == "You're registered and enrolled in Safety 101."
    page.screenshot(path=tmp_path / "register-done.png", full_page=True)
    (mail,) = mails_to(site, "rae@example.org")
    link = urlsplit(re.search(r"^(http://\S+)$", text_of(mail), re.M).group(1))
    page.goto(f"{site.url}{link.path}?{link.query}")
    assert page.locator("h1").inner_text() == "Email address confirmed"
    page.get_by_role("link", name="Open Safety 101").wait_for()
    page.screenshot(path=tmp_path / "register-confirmed.png", full_page=True)
