"""/api/v1 keeps what a PUT leaves out, and refuses what the file imports refuse: a new item's
slug not in lowercase, a completion in the future, enrolling whom `enrol import` would not
(a prospect, a deactivated person). The answers and what the database holds, on each
database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from store.models import CatalogItem, Enrolment, UserStatus, UserType, utcnow
from tests.support import api_world, factories
from tests.support.api_world import count, problem

ITEM = "/api/v1/catalog/items/fire-drills"


@pytest.fixture
async def world(db_url, sessions):
    w = await api_world.start(db_url, sessions)
    yield w
    await w.client.aclose()


async def held(sessions, slug: str) -> tuple:
    async with sessions() as s:
        item = (await s.execute(select(CatalogItem).where(CatalogItem.slug == slug))).scalar_one()
        return (
            item.title,
            item.kind.value,
            item.source.value,
            item.url,
            item.moodle_course_id,
            item.external_ids,
        )


async def items(sessions) -> int:
    async with sessions() as s:
        return (await s.execute(select(func.count()).select_from(CatalogItem))).scalar()


async def test_a_put_keeps_what_it_leaves_out_and_clears_what_it_sets_to_null(world, sessions):
    client, auth = world.client, world.auth(await world.key())
    made = await client.put(
        ITEM,
        json={
            "title": "Fire drills",
            "kind": "topic",
            "source": "library",
            "url": "https://lms.example.com/course/7",
            "external_ids": {"moodle": "7", "lms": "F1"},
        },
        headers=auth,
    )
    assert made.status_code == 201, made.text
    url = "https://lms.example.com/course/7"

    # docs/moodle.md's own example: no url, no source: both stay.
    renamed = await client.put(ITEM, json={"title": "Fire drills 2"}, headers=auth)
    assert renamed.status_code == 200, renamed.text
    answer = renamed.json()
    assert (answer["kind"], answer["source"], answer["url"]) == ("topic", "library", url)
    assert answer["external_ids"] == {"moodle": "7", "lms": "F1"}
    assert await held(sessions, "fire-drills") == (
        "Fire drills 2",
        "topic",
        "library",
        url,
        7,
        {"lms": "F1"},
    )

    same_kind = await client.put(ITEM, json={"kind": "topic", "external_ids": {}}, headers=auth)
    assert same_kind.json()["updated_at"] == answer["updated_at"]  # nothing changed

    other = await client.put(
        ITEM, json={"url": None, "external_ids": {"lms": None, "hr": "9"}}, headers=auth
    )
    assert other.status_code == 200, other.text
    assert (other.json()["url"], other.json()["external_ids"]) == (None, {"moodle": "7", "hr": "9"})
    unmapped = await client.put(ITEM, json={"external_ids": {"moodle": None}}, headers=auth)
    assert unmapped.json()["external_ids"] == {"hr": "9"}
    assert await held(sessions, "fire-drills") == (
        "Fire drills 2",
        "topic",
        "library",
        None,
        None,
        {"hr": "9"},
    )

    kind = await client.put(ITEM, json={"kind": "pathway"}, headers=auth)
    assert "an item's kind cannot change" in problem(kind, 409, "conflict")["detail"]
    nulls = await client.put(
        ITEM, json={"title": None, "kind": None, "external_ids": None}, headers=auth
    )
    errors = problem(nulls, 422, "invalid-body")["errors"]
    assert {e["field"] for e in errors} == {"body.title", "body.kind", "body.external_ids"}
    assert "leave it out" in errors[0]["message"]
    assert (await held(sessions, "fire-drills"))[:2] == ("Fire drills 2", "topic")


async def test_a_new_item_needs_a_title_a_kind_and_a_lowercase_slug(world, sessions):
    client, auth = world.client, world.auth(await world.key())
    before = await items(sessions)
    bare = await client.put(ITEM, json={"url": "https://lms.example.com/x"}, headers=auth)
    body = problem(bare, 422, "invalid-body")
    assert {e["field"] for e in body["errors"]} == {"body.title", "body.kind"}
    assert body["detail"] == "'fire-drills' is a new item: give its title and kind."

    upper = await client.put(
        "/api/v1/catalog/items/Bad_Slug", json={"title": "Bad", "kind": "topic"}, headers=auth
    )
    detail = problem(upper, 422, "refused")["detail"]
    assert "lowercase" in detail and "/api/v1/catalog/items/bad_slug" in detail
    existing = await client.put(
        "/api/v1/catalog/items/Safety-101", json={"title": "Safety"}, headers=auth
    )
    assert "/api/v1/catalog/items/safety-101" in problem(existing, 422, "refused")["detail"]
    assert await items(sessions) == before

    # An item made with capitals before this rule is still reached by its slug.
    async with sessions() as s, s.begin():
        await factories.item(s, world.org, "Old-Item")
    kept = await client.put(
        "/api/v1/catalog/items/Old-Item", json={"title": "Old item"}, headers=auth
    )
    assert kept.status_code == 200, kept.text
    assert (await held(sessions, "Old-Item"))[0] == "Old item"


async def test_a_completion_in_the_future_is_refused_as_the_import_refuses_it(world, sessions):
    client, auth = world.client, world.auth(await world.key())
    body = {"email": "bob@example.com", "item": "python-basics"}
    later = await client.post(
        "/api/v1/completions", json=body | {"completed_at": "2030-01-01T09:00:00Z"}, headers=auth
    )
    refused = problem(later, 422, "invalid-body")
    assert refused["detail"].startswith("completed_at 2030-01-01T09:00:00+00:00 is in the future")
    assert refused["errors"] == [{"field": "body.completed_at", "message": "in the future"}]
    assert await count(sessions, Enrolment.id > 0) == 0

    # A reporter's clock a minute fast is not the future.
    soon = (utcnow() + timedelta(minutes=1)).isoformat()
    now = await client.post("/api/v1/completions", json=body | {"completed_at": soon}, headers=auth)
    assert now.status_code == 201, now.text

    rows = [
        {"email": "ann@example.com", "item": "safety-101", "completed_at": "2026-11-30T09:00:00Z"},
        {"email": "bob@example.com", "item": "safety-101", "completed_at": "2030-01-01T09:00:00Z"},
    ]
    batch = await client.post("/api/v1/completions/batch", json={"completions": rows}, headers=auth)
    assert batch.status_code == 200, batch.text
    assert [r["outcome"] for r in batch.json()["results"]] == ["completed", "refused"]
    assert "is in the future" in batch.json()["results"][1]["problem"]
    assert await count(sessions, Enrolment.id > 0) == 2  # bob's python-basics, ann's safety-101


async def test_enrolling_whom_the_enrol_import_refuses_is_refused(world, sessions):
    client, auth = world.client, world.auth(await world.key())
    async with sessions() as s, s.begin():
        await factories.user(s, world.org, "pat@example.com", type=UserType.PROSPECT)
        await factories.user(s, world.org, "dee@example.com", status=UserStatus.DEACTIVATED)
    prospect = await client.post(
        "/api/v1/enrolments", json={"email": "pat@example.com", "item": "safety-101"}, headers=auth
    )
    assert problem(prospect, 422, "refused")["detail"] == (
        "pat@example.com cannot be enrolled: a prospect: they enrol through their registration "
        "token, not the API."
    )
    gone = await client.post(
        "/api/v1/enrolments", json={"email": "dee@example.com", "item": "safety-101"}, headers=auth
    )
    assert "deactivated (reactivate them first" in problem(gone, 422, "refused")["detail"]
    assert await count(sessions, Enrolment.id > 0) == 0
    ann = await client.post(
        "/api/v1/enrolments", json={"email": "ann@example.com", "item": "safety-101"}, headers=auth
    )
    assert ann.status_code == 201, ann.text
