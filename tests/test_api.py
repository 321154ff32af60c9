"""/api/v1 end to end in process: the real app behind httpx, on each database. Keys and
scopes, the catalog, enrolments, withdrawals, completions one by one and in batches,
idempotency."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from store.models import ApiKey, AuditEvent, Enrolment, EnrolmentStatus
from tests.support import api_world
from tests.support.api_world import count, problem


@pytest.fixture
async def world(db_url, sessions):
    w = await api_world.start(db_url, sessions)
    yield w
    await w.client.aclose()


async def test_no_key_wrong_key_revoked_key_and_missing_scope(world, sessions):
    client = world.client
    none = await client.get("/api/v1/catalog/items")
    problem(none, 401, "unauthorized")
    assert none.headers["www-authenticate"] == 'Bearer realm="enrolbot"'
    wrong = await client.get("/api/v1/catalog/items", headers=world.auth("eb_live_nope"))
    problem(wrong, 401, "unauthorized")
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]

    key = await world.key("catalog:read")
    assert (await client.get("/api/v1/catalog/items", headers=world.auth(key))).status_code == 200
    refused = await client.get("/api/v1/enrolments", headers=world.auth(key))
    body = problem(refused, 403, "forbidden")
    assert body["scope"] == "enrolments:read" and "enrolments:read" in body["detail"]

    async with sessions() as s, s.begin():
        row = (await s.execute(select(ApiKey))).scalar_one()
        assert key not in str(row.__dict__)  # only the hash is kept
        from handlers.api.keys import revoke_key

        await revoke_key(s, world.org.id, "lms")
    problem(await client.get("/api/v1/catalog/items", headers=world.auth(key)), 401, "unauthorized")


async def test_catalog_upsert_by_slug_list_and_get(world):
    client, auth = world.client, world.auth(await world.key())
    body = {
        "title": "Fire drills",
        "kind": "topic",
        "url": "https://lms.example.com/course/7",
        "external_ids": {"moodle": "7"},
    }
    made = await client.put("/api/v1/catalog/items/fire-drills", json=body, headers=auth)
    assert made.status_code == 201, made.text
    assert made.json()["external_ids"] == {"moodle": "7"}
    again = await client.put(
        "/api/v1/catalog/items/fire-drills", json=body | {"title": "Fire drills 2"}, headers=auth
    )
    assert again.status_code == 200 and again.json()["title"] == "Fire drills 2"
    got = await client.get("/api/v1/catalog/items/fire-drills", headers=auth)
    assert got.json()["url"] == "https://lms.example.com/course/7"
    listed = await client.get("/api/v1/catalog/items", headers=auth)
    assert [i["slug"] for i in listed.json()["data"]] == [
        "safety-101",
        "python-basics",
        "fire-drills",
    ]
    kind = await client.put(
        "/api/v1/catalog/items/fire-drills", json=body | {"kind": "pathway"}, headers=auth
    )
    problem(kind, 409, "conflict")
    bad = await client.put(
        "/api/v1/catalog/items/fire-drills", json={"title": "", "kind": "x"}, headers=auth
    )
    errors = problem(bad, 422, "invalid-body")["errors"]
    assert {e["field"] for e in errors} == {"body.title", "body.kind"}
    problem(await client.get("/api/v1/catalog/items/nope", headers=auth), 404, "not-found")


async def test_enrol_withdraw_and_enrol_again(world, sessions):
    client, auth = world.client, world.auth(await world.key())
    made = await client.post(
        "/api/v1/enrolments", json={"email": "ANN@example.com", "item": "safety-101"}, headers=auth
    )
    assert made.status_code == 201, made.text
    enrolment = made.json()["enrolment"]
    assert (made.json()["outcome"], enrolment["source"], enrolment["status"]) == (
        "enrolled",
        "api",
        "enrolled",
    )
    twice = await client.post(
        "/api/v1/enrolments", json={"email": "ann@example.com", "item": "safety-101"}, headers=auth
    )
    assert (twice.status_code, twice.json()["outcome"]) == (200, "already_enrolled")
    gone = await client.post(f"/api/v1/enrolments/{enrolment['id']}/withdraw", headers=auth)
    assert gone.status_code == 200, gone.text
    assert gone.json()["enrolment"]["status"] == "withdrawn"
    assert gone.json()["enrolment"]["withdrawn_at"]
    back = await client.post(
        "/api/v1/enrolments",
        json={"person_id": enrolment["person_id"], "item": "safety-101"},
        headers=auth,
    )
    assert (back.status_code, back.json()["enrolment"]["status"]) == (201, "enrolled")
    assert await count(sessions, Enrolment.id > 0) == 1
    both = await client.post(
        "/api/v1/enrolments",
        json={"person_id": 1, "email": "ann@example.com", "item": "safety-101"},
        headers=auth,
    )
    problem(both, 422, "invalid-body")
    nobody = await client.post(
        "/api/v1/enrolments", json={"email": "zed@example.com", "item": "safety-101"}, headers=auth
    )
    problem(nobody, 404, "not-found")
    async with sessions() as s:
        actions = (await s.execute(select(AuditEvent.action, AuditEvent.actor))).all()
    assert ("enrol.withdrawn", "api:lms#1") in actions


async def test_completion_marks_the_enrolment_completed_once(world, sessions):
    client, auth = world.client, world.auth(await world.key())
    body = {
        "email": "bob@example.com",
        "item": "python-basics",
        "completed_at": "2026-11-30T09:00:00Z",
        "score": 92.5,
    }
    done = await client.post("/api/v1/completions", json=body, headers=auth)
    assert done.status_code == 201, done.text
    enrolment = done.json()["enrolment"]
    assert (enrolment["status"], enrolment["score"], enrolment["source"]) == (
        "completed",
        92.5,
        "api",
    )
    assert enrolment["completed_at"].startswith("2026-11-30T09:00:00")
    again = await client.post("/api/v1/completions", json=body, headers=auth)
    assert (again.status_code, again.json()["outcome"]) == (200, "already_completed")
    refused = await client.post(f"/api/v1/enrolments/{enrolment['id']}/withdraw", headers=auth)
    problem(refused, 409, "conflict")
    naive = await client.post(
        "/api/v1/completions", json=body | {"completed_at": "2026-11-30T09:00:00"}, headers=auth
    )
    assert problem(naive, 422, "invalid-body")["errors"][0]["field"] == "body.completed_at"
    assert await count(sessions, Enrolment.status == EnrolmentStatus.COMPLETED) == 1


async def test_idempotency_key_replays_and_refuses_another_body(world, sessions):
    client, auth = world.client, world.auth(await world.key())
    body = {
        "email": "ann@example.com",
        "item": "safety-101",
        "completed_at": "2026-11-30T09:00:00Z",
    }
    headers = auth | {"Idempotency-Key": "c-1"}
    first = await client.post("/api/v1/completions", json=body, headers=headers)
    retry = await client.post("/api/v1/completions", json=body, headers=headers)
    assert (first.status_code, retry.status_code) == (201, 201)
    assert first.json() == retry.json()
    assert (first.headers["idempotent-replayed"], retry.headers["idempotent-replayed"]) == (
        "false",
        "true",
    )
    other = await client.post(
        "/api/v1/completions", json=body | {"item": "python-basics"}, headers=headers
    )
    problem(other, 422, "idempotency-key-reused")
    async with sessions() as s:
        audits = (
            await s.execute(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "complete.completed")
            )
        ).scalar()
    assert audits == 1
    # The same key from another API key is another request.
    other_key = world.auth(await world.key(name="other")) | {"Idempotency-Key": "c-1"}
    theirs = await client.post("/api/v1/completions", json=body, headers=other_key)
    assert theirs.json()["outcome"] == "already_completed"


async def test_completions_in_a_batch_each_once_with_refusals_on_their_own(world, sessions):
    client, auth = world.client, world.auth(await world.key())
    at = "2026-11-30T09:00:00Z"
    await client.post(
        "/api/v1/enrolments", json={"email": "bob@example.com", "item": "safety-101"}, headers=auth
    )
    rows = [
        {"email": "ann@example.com", "item": "safety-101", "completed_at": at, "score": 1},
        {"email": "bob@example.com", "item": "safety-101", "completed_at": at},
        {"email": "zed@example.com", "item": "safety-101", "completed_at": at},
        {"email": "ann@example.com", "item": "nope", "completed_at": at},
        {"email": "ann@example.com", "item": "safety-101", "completed_at": at},
    ]
    headers = auth | {"Idempotency-Key": "batch-1"}
    done = await client.post(
        "/api/v1/completions/batch", json={"completions": rows}, headers=headers
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["completed"], body["already_completed"], body["refused"]) == (2, 1, 2)
    assert [r["outcome"] for r in body["results"]] == [
        "completed",
        "completed",
        "refused",
        "refused",
        "already_completed",
    ]
    assert "zed@example.com" in body["results"][2]["problem"]
    again = await client.post(
        "/api/v1/completions/batch", json={"completions": rows}, headers=headers
    )
    assert again.json() == body and again.headers["idempotent-replayed"] == "true"
    assert await count(sessions, Enrolment.status == EnrolmentStatus.COMPLETED) == 2
    too_many = {"completions": rows[:1] * 1001}
    problem(
        await client.post("/api/v1/completions/batch", json=too_many, headers=auth),
        422,
        "invalid-body",
    )


async def test_the_same_post_twice_at_once_completes_once(world, sessions):
    """Two copies of one request racing (a client's retry before the first answer): one effect,
    and both get the same answer."""
    import asyncio

    client, auth = world.client, world.auth(await world.key())
    body = {
        "email": "ann@example.com",
        "item": "safety-101",
        "completed_at": "2026-11-30T09:00:00Z",
    }
    headers = auth | {"Idempotency-Key": "race-1"}
    first, second = await asyncio.gather(
        client.post("/api/v1/completions", json=body, headers=headers),
        client.post("/api/v1/completions", json=body, headers=headers),
    )
    assert (first.status_code, second.status_code) == (201, 201), (first.text, second.text)
    assert first.json() == second.json()
    assert sorted(
        [first.headers["idempotent-replayed"], second.headers["idempotent-replayed"]]
    ) == [
        "false",
        "true",
    ]
    async with sessions() as s:
        audits = (
            await s.execute(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action.in_(["complete.completed", "enrol.enrolled"]))
            )
        ).scalar()
    assert audits == 2  # one enrolment, one completion


async def test_kept_answers_are_forgotten_after_a_week(world, sessions):
    from datetime import timedelta

    from handlers.api.idempotency import purge
    from store.models import IdempotentRequest, utcnow

    auth = world.auth(await world.key()) | {"Idempotency-Key": "old-1"}
    body = {"email": "ann@example.com", "item": "safety-101"}
    assert (
        await world.client.post("/api/v1/enrolments", json=body, headers=auth)
    ).status_code == 201
    async with sessions() as s, s.begin():
        assert await purge(s, utcnow()) == 0
        assert await purge(s, utcnow() + timedelta(days=8)) == 1
        assert (await s.execute(select(func.count()).select_from(IdempotentRequest))).scalar() == 0
