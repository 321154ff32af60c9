"""/api/v1 end to end in process: the real app behind httpx, on each database. Keys and
scopes, every resource, filters, paging, idempotency, problems, rate limits."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from store.models import ApiKey, AuditEvent, Enrolment, EnrolmentStatus
from tests.support import api_world

PROBLEM = "application/problem+json"


@pytest.fixture
async def world(db_url, sessions):
    w = await api_world.start(db_url, sessions)
    yield w
    await w.client.aclose()


def _problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == f"tag:enrolbot,2026:problems/{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert body["instance"] == response.request.url.path
    return body


async def _count(sessions, where) -> int:
    async with sessions() as s:
        return (await s.execute(select(func.count()).select_from(Enrolment).where(where))).scalar()


async def test_no_key_wrong_key_revoked_key_and_missing_scope(world, sessions):
    client = world.client
    none = await client.get("/api/v1/catalog/items")
    _problem(none, 401, "unauthorized")
    assert none.headers["www-authenticate"] == 'Bearer realm="enrolbot"'
    wrong = await client.get("/api/v1/catalog/items", headers=world.auth("eb_live_nope"))
    _problem(wrong, 401, "unauthorized")
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]

    key = await world.key("catalog:read")
    assert (await client.get("/api/v1/catalog/items", headers=world.auth(key))).status_code == 200
    refused = await client.get("/api/v1/enrolments", headers=world.auth(key))
    body = _problem(refused, 403, "forbidden")
    assert body["scope"] == "enrolments:read" and "enrolments:read" in body["detail"]

    async with sessions() as s, s.begin():
        row = (await s.execute(select(ApiKey))).scalar_one()
        assert key not in str(row.__dict__)  # only the hash is kept
        from handlers.api.keys import revoke_key

        await revoke_key(s, world.org.id, "lms")
    _problem(
        await client.get("/api/v1/catalog/items", headers=world.auth(key)), 401, "unauthorized"
    )


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
    _problem(kind, 409, "conflict")
    bad = await client.put(
        "/api/v1/catalog/items/fire-drills", json={"title": "", "kind": "x"}, headers=auth
    )
    errors = _problem(bad, 422, "invalid-body")["errors"]
    assert {e["field"] for e in errors} == {"body.title", "body.kind"}
    _problem(await client.get("/api/v1/catalog/items/nope", headers=auth), 404, "not-found")


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
    assert await _count(sessions, Enrolment.id > 0) == 1
    both = await client.post(
        "/api/v1/enrolments",
        json={"person_id": 1, "email": "ann@example.com", "item": "safety-101"},
        headers=auth,
    )
    _problem(both, 422, "invalid-body")
    nobody = await client.post(
        "/api/v1/enrolments", json={"email": "zed@example.com", "item": "safety-101"}, headers=auth
    )
    _problem(nobody, 404, "not-found")
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
    _problem(refused, 409, "conflict")
    naive = await client.post(
        "/api/v1/completions", json=body | {"completed_at": "2026-11-30T09:00:00"}, headers=auth
    )
    assert _problem(naive, 422, "invalid-body")["errors"][0]["field"] == "body.completed_at"
    assert await _count(sessions, Enrolment.status == EnrolmentStatus.COMPLETED) == 1


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
    _problem(other, 422, "idempotency-key-reused")
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


async def test_enrolment_filters_and_cursor_paging(world, sessions):
    client, auth = world.client, world.auth(await world.key())
    for n in range(7):
        person = {"email": f"p{n}@example.com", "first_name": f"P{n}"}
        assert (await client.post("/api/v1/people", json=person, headers=auth)).status_code == 201
        for item in ("safety-101", "python-basics"):
            made = await client.post(
                "/api/v1/enrolments", json={"email": person["email"], "item": item}, headers=auth
            )
            assert made.status_code == 201
    seen: list[int] = []
    url = "/api/v1/enrolments?item=safety-101&limit=3"
    pages = 0
    cursor = None
    while True:
        page = await client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=auth)
        assert page.status_code == 200, page.text
        seen += [e["id"] for e in page.json()["data"]]
        assert all(e["item"] == "safety-101" for e in page.json()["data"])
        pages += 1
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert (len(seen), len(set(seen)), pages) == (7, 7, 3)
    first = await client.get("/api/v1/enrolments?limit=2", headers=auth)
    cursor = first.json()["next_cursor"]
    # A cursor is bound to its list and filters, and cannot be forged.
    _problem(
        await client.get(f"/api/v1/enrolments?item=safety-101&cursor={cursor}", headers=auth),
        400,
        "bad-cursor",
    )
    _problem(await client.get("/api/v1/enrolments?cursor=abc", headers=auth), 400, "bad-cursor")
    _problem(await client.get("/api/v1/enrolments?limit=201", headers=auth), 400, "invalid-query")
    later = await client.get(
        "/api/v1/enrolments?changed_since=2999-01-01T00:00:00Z&status=enrolled&source=api",
        headers=auth,
    )
    assert later.json() == {"data": [], "next_cursor": None}
    mine = await client.get("/api/v1/enrolments?email=p3@example.com", headers=auth)
    assert len(mine.json()["data"]) == 2
    people = await client.get("/api/v1/people?limit=4", headers=auth)
    assert len(people.json()["data"]) == 4 and people.json()["next_cursor"]


async def test_people_written_unless_scim_keeps_them(world, sessions):
    client, auth = world.client, world.auth(await world.key())
    made = await client.post(
        "/api/v1/people",
        json={"email": "cy@example.com", "first_name": "Cy", "department": "Sales"},
        headers=auth,
    )
    assert made.status_code == 201, made.text
    person = made.json()
    assert (person["department"], person["scim_managed"]) == ("Sales", False)
    changed = await client.post(
        "/api/v1/people", json={"email": "cy@example.com", "team": "North"}, headers=auth
    )
    assert changed.status_code == 200
    assert (changed.json()["department"], changed.json()["team"]) == ("Sales", "North")
    from store.models import Identity

    async with sessions() as s, s.begin():
        s.add(Identity(provider="scim", tenant_key="1", subject="x-1", user_id=person["id"]))
    kept = await client.post(
        "/api/v1/people", json={"email": "cy@example.com", "team": "South"}, headers=auth
    )
    assert "SCIM" in _problem(kept, 409, "conflict")["detail"]
    got = await client.get(f"/api/v1/people/{person['id']}", headers=auth)
    assert got.json()["scim_managed"] is True
    groups = await client.get("/api/v1/groups?kind=department", headers=auth)
    assert [(g["name"], g["members"]) for g in groups.json()["data"]] == [("Sales", 1)]
    gid = groups.json()["data"][0]["id"]
    members = await client.get(f"/api/v1/groups/{gid}/members", headers=auth)
    assert [m["email"] for m in members.json()["data"]] == ["cy@example.com"]
    _problem(await client.get("/api/v1/groups/999", headers=auth), 404, "not-found")


async def test_problems_for_bodies_methods_and_unknown_paths(world):
    client, auth = world.client, world.auth(await world.key())
    not_json = await client.post(
        "/api/v1/enrolments", content=b"{nope", headers=auth | {"Content-Type": "application/json"}
    )
    _problem(not_json, 400, "bad-request")
    form = await client.post(
        "/api/v1/enrolments", content=b"a=b", headers=auth | {"Content-Type": "text/plain"}
    )
    _problem(form, 415, "unsupported-media-type")
    method = await client.delete("/api/v1/catalog/items", headers=auth)
    assert method.headers["allow"] == "GET"
    _problem(method, 405, "method-not-allowed")
    _problem(await client.get("/api/v1/nothing/here", headers=auth), 404, "not-found")
    _problem(await client.get("/api/v1/enrolments/abc", headers=auth), 404, "not-found")
    extra = await client.put(
        "/api/v1/catalog/items/x1", json={"title": "X", "kind": "topic", "colour": 1}, headers=auth
    )
    assert _problem(extra, 422, "invalid-body")["errors"][0]["field"] == "body.colour"


async def test_rate_limit_answers_429_with_retry_after(db_url, sessions):
    world = await api_world.start(
        db_url, sessions, ENROLBOT_API_RATE_BURST="3", ENROLBOT_API_RATE_PER_SECOND="0.5"
    )
    try:
        auth = world.auth(await world.key())
        answers = [await world.client.get("/api/v1/catalog/items", headers=auth) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
        _problem(answers[3], 429, "rate-limited")
        assert int(answers[3].headers["retry-after"]) >= 1
        # Another key has its own allowance.
        other = world.auth(await world.key(name="other"))
        assert (await world.client.get("/api/v1/catalog/items", headers=other)).status_code == 200
    finally:
        await world.client.aclose()


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
    assert await _count(sessions, Enrolment.status == EnrolmentStatus.COMPLETED) == 2
    too_many = {"completions": rows[:1] * 1001}
    _problem(
        await client.post("/api/v1/completions/batch", json=too_many, headers=auth),
        422,
        "invalid-body",
    )


async def test_rules_are_read_with_their_audience_and_terms(world, sessions):
    from handlers.rules.criteria import Criteria
    from handlers.rules.saved import Terms, create_rule
    from store.models import CatalogItem
    from store.models.rules import Due, Recur

    async with sessions() as s, s.begin():
        item = (
            await s.execute(select(CatalogItem).where(CatalogItem.slug == "safety-101"))
        ).scalar_one()
        criteria = Criteria(world.org.id, where=(("department", "Sales"), ("department", "Ops")))
        terms = Terms(due=Due.EACH_YEAR, due_month=10, due_day=1, recur=Recur.ANNUAL)
        rule = await create_rule(
            s, item, criteria, terms, created_by="test", created_by_user_id=None
        )
        rule_id = rule.id
    key = await world.key("rules:read")
    listed = await world.client.get("/api/v1/rules", headers=world.auth(key))
    assert listed.status_code == 200, listed.text
    (got,) = listed.json()["data"]
    assert (got["id"], got["item"], got["where"]) == (
        rule_id,
        "safety-101",
        {"department": ["Ops", "Sales"]},
    )
    assert (got["due"], got["due_month"], got["recur"], got["paused"]) == (
        "each_year",
        10,
        "annual",
        False,
    )
    one = await world.client.get(f"/api/v1/rules/{rule_id}", headers=world.auth(key))
    assert one.json() == got
    _problem(await world.client.get("/api/v1/rules/999", headers=world.auth(key)), 404, "not-found")


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
