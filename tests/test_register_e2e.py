"""The registration page end to end: the real app served over HTTP, a real SMTP server on
loopback receiving the invitation, and what the database holds afterwards: the form, who registers
and how, and tokens and links kept apart. One server per database for the module; each test uses
people and tokens of its own."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from store.models import EnrolmentSource, User, UserType
from tests.support.databases import backends
from tests.support.register_site import (
    KEY,
    PUBLIC_URL,
    Visitor,
    enrolments_of,
    mails_to,
    paragraphs,
    person,
    site_per_database,
    text_of,
    user_of,
)
from tests.support.tampering import tampered

site = pytest.fixture(site_per_database, scope="module", params=backends(), name="site")


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


def _check_your_email(email: str, title: str = "Safety 101") -> list[str]:
    return [
        f"We&#39;ve sent an email to {email}. Open the link in it within 7 days to confirm your "
        f"address and start {title}.",
        "No email after a few minutes? Look in your spam folder, or send this form again with "
        "the same details for a new one.",
    ]


def _link_in(mail) -> str:
    link = urlsplit(re.search(r"^(http://\S+)$", text_of(mail), re.M).group(1))
    assert f"{link.scheme}://{link.netloc}{link.path}" == f"{PUBLIC_URL}/register/confirm"
    return f"{link.path}?{link.query}"


def test_a_staff_address_typed_by_anyone_enrols_nobody_and_reads_as_a_new_one(site):
    """The token is public: typing a member's address must not enrol them, nor tell anyone the
    address has an account or what it holds. Its owner is emailed a link that enrols them."""
    page = Visitor(site).send(**person("ANN@acme.test", site.codes["fair"], "Someone", "Else"))
    new = Visitor(site).send(**person("nobody.yet@example.org", site.codes["fair"]))
    assert (page.status_code, new.status_code) == (200, 200)
    assert "<h1>Check your email</h1>" in page.text and "<h1>Check your email</h1>" in new.text
    assert paragraphs(page) == _check_your_email("ann@acme.test")
    assert paragraphs(new) == _check_your_email("nobody.yet@example.org")
    assert "Safety 101</a>" not in page.text
    assert enrolments_of(site, "ann@acme.test") == []
    # A public page changes nobody's name.
    assert user_of(site, "ann@acme.test")[:3] == ("Ann", "Lee", UserType.STAFF)

    (mail,) = mails_to(site, "ann@acme.test")
    assert mail["Subject"] == "Confirm your email address to start Safety 101"
    body = text_of(mail)
    assert body.startswith(
        "Hello Ann,\n\nYour email address was given on Acme's registration page for Safety 101. "
        "To be enrolled, confirm that the address is yours here (the link works for 7 days):"
    )
    assert body.endswith(
        "If it wasn't you, ignore this email: nothing changes unless the link is opened.\n"
    )
    opened = httpx.get(site.url + _link_in(mail))
    assert opened.status_code == 200
    assert paragraphs(opened)[:2] == [
        "Thank you, Ann: your email address ann@acme.test is confirmed.",
        "You&#39;re enrolled in Safety 101.",
    ]
    assert '<a href="https://learn.acme.test/safety-101">Open Safety 101</a>' in opened.text
    (row,) = enrolments_of(site, "ann@acme.test")
    assert row[1] is EnrolmentSource.REGISTRATION and row[2] is not None

    # Enrolled now, Ann (or anyone) registering again is answered the same; her link says more.
    again = Visitor(site).send(**person("ann@acme.test", site.codes["newsletter"]))
    assert paragraphs(again) == _check_your_email("ann@acme.test")
    second = mails_to(site, "ann@acme.test", 2)[1]
    opened = httpx.get(site.url + _link_in(second))
    assert "You&#39;re already enrolled in Safety 101, so nothing changed." in opened.text
    assert len(enrolments_of(site, "ann@acme.test")) == 1


def test_a_new_person_becomes_a_prospect_is_enrolled_and_confirms_through_the_email(site):
    page = Visitor(site).send(**person("Pat.Jones@Example.org", site.codes["fair"]))
    assert page.status_code == 200
    assert paragraphs(page) == _check_your_email("pat.jones@example.org")
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
    link = _link_in(mail)
    opened = httpx.get(site.url + link)
    assert opened.status_code == 200
    assert "<h1>Email address confirmed</h1>" in opened.text
    assert "Thank you, Pat: your email address pat.jones@example.org is confirmed." in opened.text
    assert '<a href="https://learn.acme.test/safety-101">Open Safety 101</a>' in opened.text
    assert user_of(site, "pat.jones@example.org")[3] is not None
    assert httpx.get(site.url + link).status_code == 200  # twice is fine

    # Pat has an account now: the next token is answered alike, and enrols through its email.
    page = Visitor(site).send(**person("pat.jones@example.org", site.codes["gdpr"]))
    assert paragraphs(page) == _check_your_email("pat.jones@example.org", "GDPR basics")
    assert len(enrolments_of(site, "pat.jones@example.org")) == 1
    opened = httpx.get(site.url + _link_in(mails_to(site, "pat.jones@example.org", 2)[1]))
    assert "You&#39;re enrolled in GDPR basics." in opened.text
    assert (
        "You&#39;ll find it on your learning platform when you sign in as pat.jones@example.org."
        in opened.text
    )
    assert len(enrolments_of(site, "pat.jones@example.org")) == 2


def test_a_tampered_or_expired_confirmation_link_is_refused(site):
    Visitor(site).send(**person("tam@example.org", site.codes["fair"], "Tam"))
    (mail,) = mails_to(site, "tam@example.org")
    link = urlsplit(re.search(r"^(http://\S+)$", text_of(mail), re.M).group(1))
    token = link.query.removeprefix("t=")
    page = httpx.get(f"{site.url}/register/confirm", params={"t": tampered(token)})
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


def test_a_deactivated_account_is_answered_as_any_address_and_only_its_link_says_so(site):
    page = Visitor(site).send(**person("dee@acme.test", site.codes["fair"], "Dee"))
    assert page.status_code == 200
    assert paragraphs(page) == _check_your_email("dee@acme.test")
    opened = httpx.get(site.url + _link_in(mails_to(site, "dee@acme.test")[0]))
    assert opened.status_code == 403
    assert "The account for this email address is deactivated" in opened.text
    assert enrolments_of(site, "dee@acme.test") == []
