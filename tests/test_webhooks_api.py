"""Webhook endpoints over /api/v1: added with the secret in that answer only, listed, removed,
each one's deliveries; the API's own enrolments, withdrawals and completions become events."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from handlers import sealing
from store.models import WebhookEndpoint
from tests.support import api_world
from tests.support.api_world import SECRET
from tests.support.api_world import problem as _problem
from tests.support.webhook_receiver import LOOPBACK


@pytest.fixture
async def world(db_url, sessions):
    """A development setup: webhooks may go to any address, no name is looked up."""
    w = await api_world.start(db_url, sessions, **LOOPBACK)
    yield w
    await w.client.aclose()


@pytest.fixture
async def strict(db_url, sessions):
    """As deployed: webhooks go to public https:// addresses only."""
    w = await api_world.start(db_url, sessions)
    yield w
    await w.client.aclose()


async def test_add_list_log_and_remove_a_webhook(world):
    client, auth = world.client, world.auth(await world.key())
    hook = {"url": "https://lms.example.com/hooks", "events": ["enrolment.created"]}
    made = await client.post("/api/v1/webhooks", json=hook, headers=auth)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["secret"].startswith("whsec_") and body["state"] == "active"
    # A dump of the database does not show the secret: it is kept sealed, and opens with the key.
    async with world.sessions() as s:
        stored = (await s.execute(text("SELECT secret FROM webhook_endpoint"))).scalar_one()
    assert stored.startswith("sealed:") and body["secret"][len("whsec_") :] not in stored
    assert sealing.unseal(stored, [SECRET]) == body["secret"]
    assert (body["url"], body["events"], body["kind"]) == (hook["url"], hook["events"], "webhook")
    listed = (await client.get("/api/v1/webhooks", headers=auth)).json()["data"]
    assert [w["id"] for w in listed] == [body["id"]] and "secret" not in listed[0]
    _problem(await client.post("/api/v1/webhooks", json=hook, headers=auth), 409, "conflict")

    enrolled = await client.post(
        "/api/v1/enrolments", json={"email": "ann@example.com", "item": "safety-101"}, headers=auth
    )
    assert enrolled.status_code == 201
    done = await client.post(
        "/api/v1/completions",
        json={
            "email": "bob@example.com",
            "item": "safety-101",
            "completed_at": "2026-11-30T10:00:00Z",
        },
        headers=auth,
    )
    assert done.status_code == 201  # Bob is enrolled, then completed: only the first is wanted
    log = (await client.get(f"/api/v1/webhooks/{body['id']}/deliveries", headers=auth)).json()
    assert [(d["type"], d["status"], d["attempts"]) for d in log["data"]] == [
        ("enrolment.created", "pending", 0),
        ("enrolment.created", "pending", 0),
    ]
    assert all(d["event_id"].startswith("msg_") for d in log["data"])

    removed = await client.delete(f"/api/v1/webhooks/{body['id']}", headers=auth)
    assert removed.json() == {"id": body["id"], "dropped": 2}
    _problem(await client.delete(f"/api/v1/webhooks/{body['id']}", headers=auth), 404, "not-found")
    assert (await client.get("/api/v1/webhooks", headers=auth)).json() == {"data": []}


async def test_bad_webhooks_and_missing_scopes_are_refused(world):
    client = world.client
    auth = world.auth(await world.key("webhooks:read"))
    body = _problem(
        await client.post("/api/v1/webhooks", json={"url": "x", "events": []}, headers=auth),
        403,
        "forbidden",
    )
    assert body["scope"] == "webhooks:write"
    auth = world.auth(await world.key("webhooks:write", name="admin"))
    for wrong in (
        {"url": "ftp://lms.example.com", "events": ["enrolment.created"]},
        {"url": "https://lms.example.com", "events": []},
        {"url": "https://lms.example.com", "events": ["enrolment.made"]},
        {"url": "https://lms.example.com", "events": ["enrolment.created"], "secret": "mine"},
    ):
        _problem(
            await client.post("/api/v1/webhooks", json=wrong, headers=auth), 422, "invalid-body"
        )
    _problem(await client.get("/api/v1/webhooks", headers=auth), 403, "forbidden")


async def test_webhooks_to_addresses_inside_a_network_are_refused(strict):
    client, auth = strict.client, strict.auth(await strict.key("webhooks:write"))
    for url, says in (
        ("https://127.0.0.1/hooks", "points at 127.0.0.1, a loopback address inside a network"),
        ("https://localhost:8443/x", "points at 127.0.0.1 (as localhost resolves), a loopback"),
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254, a link-local address"),
        ("https://192.168.1.20/hooks", "points at 192.168.1.20, a private address"),
        ("https://[fc00::1]/hooks", "points at fc00::1, a private address"),
        ("https://[::ffff:10.0.0.1]/hooks", "a private address"),
        ("https://224.0.0.9/hooks", "a multicast address"),
        ("https://[::]/hooks", "an unspecified address"),
        ("https://100.64.0.1/hooks", "a non-public address"),
        ("http://93.184.215.14/hooks", "is not https"),
    ):
        hook = {"url": url, "events": ["enrolment.created"]}
        body = _problem(
            await client.post("/api/v1/webhooks", json=hook, headers=auth), 422, "invalid-body"
        )
        assert says in body["detail"], body["detail"]
        assert body["detail"].endswith("set ENROLBOT_WEBHOOK_ALLOW_PRIVATE=true).")
    async with strict.sessions() as s:
        assert (await s.execute(select(WebhookEndpoint))).first() is None
    public = {"url": "https://93.184.215.14/hooks", "events": ["enrolment.created"]}
    assert (await client.post("/api/v1/webhooks", json=public, headers=auth)).status_code == 201
