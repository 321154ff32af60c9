"""/api/v1 end to end in process, on each database: filters and cursor paging, people,
groups and rules, problem details for bad requests, rate limits."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support import api_world
from tests.support.api_world import problem


@pytest.fixture
async def world(db_url, sessions):
    w = await api_world.start(db_url, sessions)
    yield w
    await w.client.aclose()


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
    problem(
        await client.get(f"/api/v1/enrolments?item=safety-101&cursor={cursor}", headers=auth),
        400,
        "bad-cursor",
    )
    problem(await client.get("/api/v1/enrolments?cursor=abc", headers=auth), 400, "bad-cursor")
    problem(await client.get("/api/v1/enrolments?limit=201", headers=auth), 400, "invalid-query")
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
    assert "SCIM" in problem(kept, 409, "conflict")["detail"]
    got = await client.get(f"/api/v1/people/{person['id']}", headers=auth)
    assert got.json()["scim_managed"] is True
    groups = await client.get("/api/v1/groups?kind=department", headers=auth)
    assert [(g["name"], g["members"]) for g in groups.json()["data"]] == [("Sales", 1)]
    gid = groups.json()["data"][0]["id"]
    members = await client.get(f"/api/v1/groups/{gid}/members", headers=auth)
    assert [m["email"] for m in members.json()["data"]] == ["cy@example.com"]
    problem(await client.get("/api/v1/groups/999", headers=auth), 404, "not-found")


async def test_problems_for_bodies_methods_and_unknown_paths(world):
    client, auth = world.client, world.auth(await world.key())
    not_json = await client.post(
        "/api/v1/enrolments", content=b"{nope", headers=auth | {"Content-Type": "application/json"}
    )
    problem(not_json, 400, "bad-request")
    form = await client.post(
        "/api/v1/enrolments", content=b"a=b", headers=auth | {"Content-Type": "text/plain"}
    )
    problem(form, 415, "unsupported-media-type")
    method = await client.delete("/api/v1/catalog/items", headers=auth)
    assert method.headers["allow"] == "GET"
    problem(method, 405, "method-not-allowed")
    problem(await client.get("/api/v1/nothing/here", headers=auth), 404, "not-found")
    problem(await client.get("/api/v1/enrolments/abc", headers=auth), 404, "not-found")
    extra = await client.put(
        "/api/v1/catalog/items/x1", json={"title": "X", "kind": "topic", "colour": 1}, headers=auth
    )
    assert problem(extra, 422, "invalid-body")["errors"][0]["field"] == "body.colour"


async def test_rate_limit_answers_429_with_retry_after(db_url, sessions):
    world = await api_world.start(
        db_url, sessions, ENROLBOT_API_RATE_BURST="3", ENROLBOT_API_RATE_PER_SECOND="0.5"
    )
    try:
        auth = world.auth(await world.key())
        answers = [await world.client.get("/api/v1/catalog/items", headers=auth) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
        problem(answers[3], 429, "rate-limited")
        assert int(answers[3].headers["retry-after"]) >= 1
        # Another key has its own allowance.
        other = world.auth(await world.key(name="other"))
        assert (await world.client.get("/api/v1/catalog/items", headers=other)).status_code == 200
    finally:
        await world.client.aclose()


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
    problem(await world.client.get("/api/v1/rules/999", headers=world.auth(key)), 404, "not-found")


async def test_a_null_clears_a_persons_value_as_the_import_docs_say(world):
    # docs/people-and-groups.md: a file never clears a value; the API does, given null.
    client, auth = world.client, world.auth(await world.key())
    made = await client.post(
        "/api/v1/people",
        json={"email": "di@example.com", "department": "Sales", "language": "en"},
        headers=auth,
    )
    assert made.status_code == 201, made.text
    cleared = await client.post(
        "/api/v1/people", json={"email": "di@example.com", "department": None}, headers=auth
    )
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["department"], cleared.json()["language"]) == (None, "en")
    groups = await client.get("/api/v1/groups?kind=department", headers=auth)
    assert [(g["name"], g["members"]) for g in groups.json()["data"]] == [("Sales", 0)]
