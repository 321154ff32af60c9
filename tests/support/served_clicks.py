"""Clicks against real `enrolbot serve` processes, for the fault tests: many learners seeded in the
database and in Slack's stand-in, the served process's settings, and a signed click sent as Slack
sends it, retries included."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from handlers.organisations import default_organisation
from store.models import Enrolment, Identity, NotificationSubscription, User
from tests.support import seed
from tests.support.slack_standin import TEAM, SlackStandIn, member
from tests.support.slack_world import BOT_TOKEN, SIGNING_SECRET, action_body, slack_signature
from tests.support.syncdb import SyncDB


def people(count: int) -> list[tuple[str, str]]:
    return [(f"UL{n:05}", f"learner{n:05}@acme.test") for n in range(count)]


def prepare(db_url: str, count: int, *, subscribe: str | None = None) -> SyncDB:
    db = SyncDB(db_url)
    db.run(seed.organisation())

    async def more(session) -> None:
        org = await default_organisation(session)
        session.add_all(
            User(organisation_id=org.id, email=email, first_name=f"Learner{uid[2:]}", last_name="X")
            for uid, email in people(count)
        )
        if subscribe:
            session.add(
                NotificationSubscription(
                    organisation_id=org.id,
                    item_id=None,
                    provider="slack",
                    tenant_key=TEAM,
                    channel_id=subscribe,
                    channel_name="ops",
                    admin_destination=f"slack:{TEAM}:U0BOSS",
                )
            )

    db.run(more)
    return db


def standin(count: int) -> SlackStandIn:
    slack = SlackStandIn()
    for uid, email in people(count):
        slack.add_user(member(uid, email, f"Learner{uid[2:]}", "X"))
    slack.add_channel("C0OPS")
    return slack


def token_of(db: SyncDB) -> str:
    from handlers.catalog import get_item
    from handlers.links import default_link, token_for
    from handlers.signing import LinkSigner

    async def work(session) -> str:
        org = await default_organisation(session)
        link = await default_link(session, await get_item(session, org.id, "safety-101"))
        return token_for(LinkSigner(["test-key-of-thirty-two-bytes-0123"]), link)

    return db.run(work)


def settings(db_url: str, slack: SlackStandIn, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": db_url,
        "ENROLBOT_SECRET_KEY": "test-key-of-thirty-two-bytes-0123",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": f"{slack.url}/api/",
        "ENROLBOT_DELIVERY_SECONDS": "0.2",
    } | extra


async def click(
    client: httpx.AsyncClient, slack: SlackStandIn, user: str, token: str, *, retries: int = 0
) -> list[tuple[int, str]]:
    """One click, and the same request again as Slack re-sends it; (status, response_url) each."""
    response_url = slack.new_response_url()
    body = action_body(user, "enrol", token, response_url)
    answers = []
    for attempt in range(retries + 1):
        headers = {"Content-Type": "application/x-www-form-urlencoded", **slack_signature(body)}
        if attempt:
            headers |= {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_timeout"}
        try:
            response = await client.post("/slack/events", content=body, headers=headers)
            answers.append((response.status_code, response_url))
        except httpx.TransportError:
            answers.append((0, response_url))
    return answers


def enrolled_subjects(db: SyncDB) -> set[str]:
    """The Slack ids of everyone the database holds an enrolment for."""

    async def work(session) -> set[str]:
        rows = await session.execute(
            select(Identity.subject).join(Enrolment, Enrolment.user_id == Identity.user_id)
        )
        return {subject for (subject,) in rows}

    return db.run(work)
