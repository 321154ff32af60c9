"""xAPI statements out, against a real LRS: Ralph on loopback (tests/support/ralph.py), in a
virtual environment of its own made on first use. Enrolments and completions become statements
through the outbox's xapi channel, and what Ralph then holds is read back from its
/xAPI/statements."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from bot.cli import main
from bot.xapi import xapi_channel
from handlers import events, webhooks, xapi
from handlers.enrol import enrol
from handlers.outbox import Delivery
from handlers.rules import saved
from handlers.rules.apply import enrol_matching
from handlers.rules.criteria import Criteria
from handlers.rules.periods import run_periods
from store.models import (
    CatalogItem,
    EndpointKind,
    EnrolmentSource,
    Organisation,
    OutboxMessage,
    OutboxStatus,
    User,
    WebhookEndpoint,
)
from tests.support import factories
from tests.support.processes import Server
from tests.support.ralph_lrs import PASSWORD, USERNAME, Ralph, RalphUnavailable, ralph_command
from tests.support.servers import ServedApp
from tests.support.syncdb import SyncDB
from tests.support.webhook_receiver import LOOPBACK, LOOPBACK_RULES, Receiver
from tests.test_hidden_periods import ANNUAL_OCT, at, outbox
from tests.test_hidden_periods import withdraw as withdraw_hidden
from tests.test_webhooks import Clock, complete, enrol_all, pending, rounds, withdraw

PUBLIC_URL = "https://enrolbot.example.com"
SERVE_KEY = "xapi-serve-test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def lrs(tmp_path_factory):
    try:
        ralph = ralph_command()
    except RalphUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Ralph, the LRS the xAPI tests need, could not be installed: {exc}")
        pytest.skip(f"Ralph, the LRS the xAPI tests need, could not be installed here: {exc}")
    with Ralph(ralph, tmp_path_factory.mktemp("ralph")) as server:
        yield server


@pytest.fixture
async def http():
    async with httpx.AsyncClient() as client:
        yield client


def delivery_for(sessions, http, clock, *, password: str = PASSWORD) -> Delivery:
    channel = xapi_channel(
        sessions,
        http,
        username=USERNAME,
        password=password,
        public_url=PUBLIC_URL,
        timeout=20,  # a loaded machine's first requests to Ralph can be slow
        pause_after=timedelta(days=3),
        clock=clock,
    )
    return Delivery(sessions, {"xapi": channel}, clock=clock, lease_seconds=60)


async def until_sent(delivery: Delivery, clock, sessions, most: int = 10) -> None:
    """Delivery runs until nothing is pending (each lane sends one statement a run)."""
    for _ in range(most):
        if await pending(sessions) == 0:
            return
        await rounds(delivery, clock, 1)


async def xapi_world(sessions, endpoint: str):
    async with sessions() as s, s.begin():
        org = await factories.organisation(s)
        its = [
            await factories.item(s, org, "safety-101", title="Safety 101"),
            await factories.item(s, org, "forklift", url="https://lms.example.com/course/7"),
        ]
        users = [await factories.user(s, org, f"p{n}@example.com") for n in range(2)]
        await webhooks.sync_xapi(s, org.id, endpoint)
    return org, its, users


async def test_enrolments_and_completions_become_statements_the_lrs_holds_once(
    sessions, http, lrs, db_url
):
    tag = db_url.rsplit("/", 1)[-1]  # each database's people are told apart in the one LRS
    org, items, users = await xapi_world(sessions, lrs.xapi_endpoint)
    async with sessions() as s, s.begin():
        for user in users:
            (await s.get(type(user), user.id)).email = f"{tag}-{user.email}"
    await enrol_all(sessions, org, items, users)
    await withdraw(sessions, org, items[:1], users[:1])  # withdrawals have no xAPI verb
    await enrol_all(sessions, org, items[:1], users[:1])
    await complete(sessions, org, items, users)
    clock = Clock()
    delivery = delivery_for(sessions, http, clock)
    await until_sent(delivery, clock, sessions)
    assert await pending(sessions) == 0
    async with sessions() as s:
        rows = list((await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())
    assert [r.status for r in rows] == [OutboxStatus.SENT] * 9  # 5 enrolments, 4 completions
    held = {
        st["id"]: st for st in lrs.statements() if st["actor"]["mbox"].startswith(f"mailto:{tag}-")
    }
    assert set(held) == {xapi.statement_id(r.payload["id"]) for r in rows}
    verbs = sorted(st["verb"]["id"].rsplit("/", 1)[1] for st in held.values())
    assert verbs == ["completed"] * 4 + ["registered"] * 5
    one = held[xapi.statement_id(rows[0].payload["id"])]
    assert one["actor"] == {"objectType": "Agent", "mbox": f"mailto:{tag}-p0@example.com"}
    assert one["verb"]["id"] == "http://adlnet.gov/expapi/verbs/registered"
    assert one["object"]["id"] == f"{PUBLIC_URL}/items/safety-101"
    assert one["object"]["definition"]["name"] == {"en-US": "Safety 101"}
    extensions = one["context"]["extensions"]
    assert extensions[xapi.EXTENSIONS + "source"] == "api"
    objects = {st["object"]["id"] for st in held.values()}
    assert objects == {f"{PUBLIC_URL}/items/safety-101", "https://lms.example.com/course/7"}
    # A send whose answer was lost goes again: the LRS keeps the one statement.
    async with sessions() as s, s.begin():
        await s.execute(update(OutboxMessage).values(status=OutboxStatus.PENDING))
    await until_sent(delivery, clock, sessions)
    assert await pending(sessions) == 0
    again = [st for st in lrs.statements() if st["actor"]["mbox"].startswith(f"mailto:{tag}-")]
    assert len(again) == 9


async def test_wrong_credentials_are_retried_with_a_sentence_saying_what_to_fix(
    sessions, http, lrs
):
    org, items, users = await xapi_world(sessions, lrs.xapi_endpoint)
    await enrol_all(sessions, org, items[:1], users[:1])
    clock = Clock()
    await rounds(delivery_for(sessions, http, clock, password="wrong"), clock, 2)
    async with sessions() as s:
        row = (await s.execute(select(OutboxMessage))).scalar_one()
        endpoint = (await s.execute(select(WebhookEndpoint))).scalar_one()
    assert row.status is OutboxStatus.PENDING and row.attempts == 2
    assert row.last_error == (
        "the LRS refused XAPI_USERNAME and XAPI_PASSWORD (HTTP 401): check them and restart"
    )
    assert endpoint.kind is EndpointKind.XAPI and endpoint.last_status == 401
    await until_sent(delivery_for(sessions, http, clock), clock, sessions)
    assert await pending(sessions) == 0


async def test_the_lrs_endpoint_follows_the_setting(session):
    org = await factories.organisation(session)
    await webhooks.sync_xapi(session, org.id, "https://lrs.example/xAPI")
    await webhooks.sync_xapi(session, org.id, "https://lrs.example/xAPI")
    await webhooks.sync_xapi(session, org.id, "https://other.example/xAPI")
    [endpoint] = (await session.execute(select(WebhookEndpoint))).scalars()
    assert endpoint.url == "https://other.example/xAPI" and endpoint.kind is EndpointKind.XAPI
    assert events.wants(endpoint, events.ENROLMENT_CREATED)
    assert not events.wants(endpoint, events.ENROLMENT_WITHDRAWN)
    await webhooks.sync_xapi(session, org.id, None)
    assert (await session.execute(select(WebhookEndpoint))).first() is None


def test_serve_sends_enrolments_to_the_lrs_and_the_webhooks_as_they_happen(tmp_path, lrs, db_url):
    """`enrolbot serve` with XAPI_ENDPOINT set: the LRS becomes an endpoint at start, and its
    delivery job sends what a change writes, to the LRS and to a signed webhook alike."""
    db = SyncDB(db_url)
    tag = db_url.rsplit("/", 1)[-1].replace(".db", "")
    receiver = Receiver()

    async def setup(s):
        org = await factories.organisation(s)
        item = await factories.item(s, org, "safety-101", title="Safety 101")
        user = await factories.user(s, org, f"{tag}-served@example.com")
        _, receiver.secret = await webhooks.add(
            s,
            org.id,
            f"{served.url}/hook",
            ["enrolment.created"],
            "t",
            keys=[SERVE_KEY],
            rules=LOOPBACK_RULES,
        )
        return org.id, item.id, user.id

    async def change(s):
        org = await s.get(Organisation, org_id)
        user, item = await s.get(User, user_id), await s.get(CatalogItem, item_id)
        await enrol(s, organisation=org, user=user, item=item, source=EnrolmentSource.API, by="t")

    with ServedApp(receiver.app()) as served:
        org_id, item_id, user_id = db.run(setup)
        server = Server(
            tmp_path,
            DATABASE_URL=db_url,
            ENROLBOT_SECRET_KEY=SERVE_KEY,
            ENROLBOT_PUBLIC_URL=PUBLIC_URL,
            **LOOPBACK,
            ENROLBOT_DELIVERY_SECONDS="0.2",
            XAPI_ENDPOINT=lrs.xapi_endpoint,
            XAPI_USERNAME=USERNAME,
            XAPI_PASSWORD=PASSWORD,
        )
        try:
            server.wait_ready(30)
            db.run(change)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (receiver.ids and mine(lrs, tag)):
                time.sleep(0.2)
        finally:
            server.stop()
    [event] = receiver.received()
    assert event["type"] == "enrolment.created" and receiver.unverified == 0
    [statement] = mine(lrs, tag)
    assert statement["verb"]["id"] == "http://adlnet.gov/expapi/verbs/registered"
    assert statement["object"]["id"] == f"{PUBLIC_URL}/items/safety-101"
    listed = CliRunner().invoke(
        main,
        ["webhook", "list"],
        env={"DATABASE_URL": db_url, "ENROLBOT_SECRET_KEY": SERVE_KEY},
    )
    lines = listed.output.splitlines()
    assert any("enrolment.created  active  last" in line and "HTTP 204" in line for line in lines)
    assert any(
        line.startswith(f"2  {lrs.xapi_endpoint}  xAPI statements  active  last") for line in lines
    ), listed.output


def mine(lrs, tag: str) -> list[dict]:
    return [
        st for st in lrs.statements() if st["actor"]["mbox"] == f"mailto:{tag}-served@example.com"
    ]


async def test_the_lrs_hears_of_an_enrolment_made_ahead_when_it_shows_and_never_if_withdrawn(
    sessions, http, lrs, db_url
):
    tag = "ahead-" + db_url.rsplit("/", 1)[-1]
    org, [item, _], users = await xapi_world(sessions, lrs.xapi_endpoint)
    async with sessions() as s, s.begin():
        for user in users:
            (await s.get(User, user.id)).email = f"{tag}-{user.email}"
        made = await saved.create_rule(
            s,
            item,
            Criteria(org.id, everyone=True),
            ANNUAL_OCT,
            created_by="t",
            created_by_user_id=None,
        )
        (loaded,) = await saved.load(s, rule_ids=[made.id])
        await enrol_matching(s, loaded, now=at(2027, 6, 1))  # shown from 2 August
    await withdraw_hidden(sessions, org.id, users[1].id, 20271001)
    assert await outbox(sessions) == []  # no statement about either while hidden
    assert (await run_periods(sessions, now=at(2027, 8, 2, 0, 5))).revealed == 1
    clock = Clock()
    clock.at = at(2027, 8, 2, 0, 6)
    assert await rounds(delivery_for(sessions, http, clock), clock, 2) == 1
    held = [st for st in lrs.statements() if st["actor"]["mbox"].startswith(f"mailto:{tag}-")]
    assert [(st["actor"]["mbox"], st["verb"]["display"]["en-US"]) for st in held] == [
        (f"mailto:{tag}-p0@example.com", "registered")
    ]
