"""Invitations and the join page end to end: the real app served over HTTP, a real SMTP server on
loopback receiving the emails, the links in them opened over HTTP (and once in headless
Chromium), and the group's rule enrolling the person through the running follower. One server
per database for the module; each test uses people of its own."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.web.ratelimit import SlidingWindow
from handlers import directory, invitations, join
from handlers.catalog import create_item
from handlers.organisations import default_organisation
from handlers.rules.criteria import Criteria
from handlers.rules.saved import Terms, create_rule
from store.models import Enrolment, GroupKind, GroupSource, ItemKind, OutboxMessage, User, UserType
from tests.support.browser import chromium
from tests.support.databases import backends
from tests.support.register_site import mailing_site_settings
from tests.support.servers import ServedApp
from tests.support.smtp import Inbox, smtp_server
from tests.support.syncdb import SyncDB

KEY = "invite-test-key-0123456789abcdef0123456"
PUBLIC_URL = "http://learn.acme.test"
FORM_TOKEN = re.compile(r'name="form" value="([^"]+)"')
LINK = re.compile(r"http://learn\.acme\.test(/\S+)")


@dataclass
class Site:
    url: str
    db: SyncDB
    inbox: Inbox
    join_path: str
    app: object


def _seed(db: SyncDB) -> str:
    async def work(session) -> str:
        org = await default_organisation(session)
        org.name = "Acme"
        item = await create_item(
            session, org.id, slug="safety-101", kind=ItemKind.TOPIC, title="Safety 101"
        )
        ids = await directory.named_groups(
            session, org.id, GroupKind.GROUP, ["Newcomers"], create=GroupSource.MANUAL
        )
        criteria = Criteria(organisation_id=org.id, group_ids=(ids["newcomers"],))
        await create_rule(
            session, item, criteria, Terms(), created_by="test", created_by_user_id=None
        )
        session.add(
            User(
                organisation_id=org.id,
                email="ann@acme.test",
                first_name="Ann",
                last_name="Lee",
                type=UserType.STAFF,
            )
        )
        (group,) = await directory.find_group(session, org.id, "Newcomers")
        page = await join.switch_on(session, org.id, group, ["acme.test", "partner.org"])
        return page.path

    return db.run(work)


@pytest.fixture(scope="module", params=backends())
def site(request, databases) -> Iterator[Site]:
    url = databases.fresh(request.param)
    db = SyncDB(url)
    path = _seed(db)
    with smtp_server() as inbox:
        settings = mailing_site_settings(url, inbox.url, KEY)
        app = create_app(settings)
        with ServedApp(app) as served:
            yield Site(served.url, db, inbox, path, app)
    databases.drop(url)


def invite(site: Site, *emails: str) -> None:
    async def work(session) -> None:
        org = await default_organisation(session)
        (group,) = await directory.find_group(session, org.id, "Newcomers")
        await invitations.invite(
            session,
            org,
            [(e, group, UserType.STAFF) for e in emails],
            by="test",
            by_user_id=None,
            by_name="Sam Boss",
        )

    site.db.run(work)


def links_to(site: Site, address: str, count: int = 1) -> list[str]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [m for rcpt, m in site.inbox.messages if address in rcpt]
        if len(found) >= count:
            break
        time.sleep(0.05)
    return [LINK.search(m.get_content()).group(1) for m in found]


def enrolled(site: Site, email: str, seconds: float = 5) -> list[int]:
    async def work(session) -> list[int]:
        rows = await session.execute(
            select(Enrolment.item_id)
            .join(User, User.id == Enrolment.user_id)
            .where(User.email == email)
        )
        return list(rows.scalars())

    deadline = time.monotonic() + seconds
    while True:
        found = site.db.run(work)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def http(site: Site) -> httpx.Client:
    return httpx.Client(base_url=site.url, timeout=10)


def test_the_email_link_accepts_and_the_groups_rule_enrols_them(site):
    invite(site, "pat@outside.org")
    (path,) = links_to(site, "pat@outside.org")
    mail = next(m for rcpt, m in site.inbox.messages if "pat@outside.org" in rcpt)
    assert mail["Subject"] == "You're invited to join Acme for training"
    assert "Sam Boss invited you to join Newcomers at Acme" in mail.get_content()
    client = http(site)
    page = client.get(path)
    assert page.status_code == 200 and "<h1>Accept your invitation</h1>" in page.text
    assert page.text.count("<h1>") == 1 and '<html lang="en">' in page.text
    assert '<label for="first_name">' in page.text
    refused = client.post(path, data={"first_name": "", "last_name": "Lane"})
    assert refused.status_code == 400 and "Enter your first name." in refused.text
    done = client.post(path, data={"first_name": "Pat", "last_name": "Lane"})
    assert done.status_code == 200 and "You&#39;ve joined Newcomers." in done.text
    assert len(enrolled(site, "pat@outside.org")) == 1  # the running follower, within seconds
    again = client.get(path)
    assert "You&#39;ve accepted this invitation" in again.text


def test_cancel_and_resend_kill_links_at_once(site):
    invite(site, "kim@outside.org", "lou@outside.org")
    (kim,) = links_to(site, "kim@outside.org")
    (lou_old,) = links_to(site, "lou@outside.org")

    async def change(session) -> None:
        org = await default_organisation(session)
        (k,) = await invitations.named(session, org.id, "kim@outside.org")
        await invitations.cancel(session, k, by="test", by_user_id=None)
        (lu,) = await invitations.named(session, org.id, "lou@outside.org")
        await invitations.resend(session, org, lu, by="test", by_user_id=None)

    site.db.run(change)
    client = http(site)
    gone = client.get(kim)
    assert gone.status_code == 410 and "This invitation was cancelled" in gone.text
    assert client.post(kim, data={"first_name": "K", "last_name": "M"}).status_code == 410
    _, lou_new = links_to(site, "lou@outside.org", 2)
    assert client.get(lou_old).status_code == 400
    assert client.get(lou_new).status_code == 200
    assert client.get("/invite/not-a-token").status_code == 400


def _join_form(client: httpx.Client, site: Site) -> str:
    page = client.get(f"/join/{site.join_path}")
    assert page.status_code == 200 and "<h1>Ask to join</h1>" in page.text
    return FORM_TOKEN.search(page.text).group(1)


def test_the_join_page_confirms_by_email_and_answers_alike_for_known_and_unknown(site):
    client = http(site)
    form = _join_form(client, site)
    person = {"form": form, "first_name": "Jo", "last_name": "Ng"}
    known = client.post(f"/join/{site.join_path}", data=person | {"email": "ann@acme.test"})
    unknown = client.post(f"/join/{site.join_path}", data=person | {"email": "jo@acme.test"})
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text and "Check your email" in known.text
    outside = client.post(f"/join/{site.join_path}", data=person | {"email": "jo@gmail.com"})
    assert outside.status_code == 400
    assert "Only addresses at @acme.test, @partner.org can join" in outside.text
    forged = client.post(
        f"/join/{site.join_path}", data=person | {"form": "x", "email": "a@acme.test"}
    )
    assert forged.status_code == 400
    (confirm,) = links_to(site, "jo@acme.test")
    assert urlsplit(confirm).path == "/join/confirm"
    joined = client.get(confirm)
    assert joined.status_code == 200 and "You&#39;ve joined" in joined.text
    assert len(enrolled(site, "jo@acme.test")) == 1
    assert client.get(confirm[:-3] + "abc").status_code == 400
    assert client.get("/join/not-the-path").status_code == 404


def test_the_join_page_limits_each_email(site):
    client = http(site)
    form = _join_form(client, site)
    data = {"form": form, "first_name": "Lim", "last_name": "It", "email": "lim@partner.org"}
    answers = {client.post(f"/join/{site.join_path}", data=data).text for _ in range(5)}
    assert len(answers) == 1  # the same page, whether or not an email went
    sent = site.db.count(OutboxMessage, OutboxMessage.destination == "email:lim@partner.org")
    assert sent == 3  # EMAIL_LIMIT an hour; due together, they go as one email


def test_in_a_browser_the_invitation_page_is_accepted_without_javascript(site):
    invite(site, "web@outside.org")
    (path,) = links_to(site, "web@outside.org")
    with chromium() as browser:
        context = browser.new_context(java_script_enabled=False)
        page = context.new_page()
        page.goto(site.url + path)
        assert page.locator("h1").all_inner_texts() == ["Accept your invitation"]
        page.get_by_label("First name").fill("Wen")
        page.get_by_label("Last name").fill("Bee")
        page.get_by_role("button", name="Accept and join").click()
        assert page.locator("h1").inner_text() == "Welcome aboard"
        context.close()
    assert len(enrolled(site, "web@outside.org")) == 1


def test_the_join_page_limits_each_client_address(site):
    pages = site.app.state.invite_pages
    kept, pages.per_address = pages.per_address, SlidingWindow(2, 600)
    try:
        client = http(site)
        form = _join_form(client, site)
        data = {"form": form, "first_name": "Ad", "last_name": "Dress"}
        for n in range(2):
            sent = client.post(f"/join/{site.join_path}", data=data | {"email": f"a{n}@acme.test"})
            assert sent.status_code == 200
        limited = client.post(f"/join/{site.join_path}", data=data | {"email": "a9@acme.test"})
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
        assert "There have been too many requests. Try again in 10 minutes." in limited.text
    finally:
        pages.per_address = kept
    assert site.db.count(OutboxMessage, OutboxMessage.destination == "email:a9@acme.test") == 0


def test_a_switched_off_join_page_says_so(site):
    async def off(session) -> str:
        org = await default_organisation(session)
        page = await join.page_of(session, org.id)
        old = page.path
        await join.switch_off(session, org.id)
        return old

    async def on(session) -> None:
        org = await default_organisation(session)
        page = await join.page_of(session, org.id)
        page.enabled, page.path = True, site.join_path

    old = site.db.run(off)
    try:
        page = http(site).get(f"/join/{old}")
        assert page.status_code == 404 and "This join page is off" in page.text
    finally:
        site.db.run(on)
