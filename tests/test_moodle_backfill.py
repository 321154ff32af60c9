"""Mapping an item to a Moodle course sends the enrolments it already has: over the API's
catalog upsert (`external_ids.moodle`) and `enrolbot catalog import`, one insert-select of
pushes in the mapping's transaction, hidden enrolments starting the day they show, withdrawn
ones and deactivated people left out. Mapped to another course, the item's people go there
too and the old course keeps them; a withdrawal then leaves the new one. A site set after
items were mapped gets what they held at the next start."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select, update

from bot.app import create_app
from bot.cli import main
from bot.settings import Settings
from handlers.moodle.site import sync_site
from store.db import make_engine, make_sessionmaker
from store.models import Enrolment, OutboxMessage, User, UserStatus, utcnow
from tests.support import factories
from tests.support.api_world import start
from tests.support.moodle_world import World
from tests.support.servers import ServedApp
from tests.support.waiting import wait_until

ITEM = "/api/v1/catalog/items/safety-101"


async def test_mapping_over_the_api_sends_the_enrolments_the_item_had(
    db_url, sessions, http, moodle, caplog
):
    site, url = moodle
    world = await start(db_url, sessions)
    async with sessions() as s, s.begin():
        await sync_site(s, world.org.id, url)
        for email in ("cat@example.com", "dan@example.com", "eve@example.com"):
            await factories.user(s, world.org, email)
    site.add_user(10, "dan@example.com")
    auth = world.auth(await world.key())
    ids = {}
    async with world.client as client:
        for email in ("ann@example.com", "bob@example.com", "cat@example.com", "dan@example.com"):
            made = await client.post(
                "/api/v1/enrolments", json={"email": email, "item": "safety-101"}, headers=auth
            )
            assert made.status_code == 201, made.text
            ids[email] = made.json()["enrolment"]["id"]
        gone = await client.post(
            f"/api/v1/enrolments/{ids['bob@example.com']}/withdraw", json={}, headers=auth
        )
        assert gone.status_code == 200, gone.text
        shows = (utcnow() + timedelta(days=3)).replace(microsecond=0)
        async with sessions() as s, s.begin():  # a rule's enrolment made ahead; a leaver
            await s.execute(
                update(Enrolment)
                .where(Enrolment.id == ids["dan@example.com"])
                .values(visible_from=shows)
            )
            await s.execute(
                update(User)
                .where(User.email == "cat@example.com")
                .values(status=UserStatus.DEACTIVATED)
            )
        assert await pushes(sessions) == []  # not mapped yet: nothing went

        body = {"title": "Safety", "kind": "topic", "external_ids": {"moodle": "101"}}
        with caplog.at_level(logging.INFO, logger="handlers.api.catalog"):
            mapped = await client.put(ITEM, json=body, headers=auth)
        assert mapped.status_code == 200, mapped.text
        assert "mapped to Moodle course 101: 2 enrolments queued for it" in caplog.text
        assert await pushes(sessions) == [
            ("enrol", "ann@example.com", 101, "pending"),
            ("enrol", "dan@example.com", 101, "pending"),
        ]
        moodle_world = World(sessions, http, url)
        await moodle_world.deliver(rounds=2)
        assert set(site.enrolments) == {(101, 7), (101, 10)}
        assert site.enrolments[(101, 10)]["timestart"] == int(shows.timestamp())

        again = await client.put(ITEM, json=body, headers=auth)  # the same course: nothing new
        assert again.status_code == 200 and len(await pushes(sessions)) == 2
        renamed = await client.put(ITEM, json={"title": "Safety 2"}, headers=auth)  # course kept
        assert renamed.json()["external_ids"] == {"moodle": "101"}
        assert len(await pushes(sessions)) == 2

        body["external_ids"] = {"moodle": "102"}
        moved = await client.put(ITEM, json=body, headers=auth)
        assert moved.status_code == 200, moved.text
        await moodle_world.deliver(rounds=2)
        assert set(site.enrolments) == {(101, 7), (101, 10), (102, 7), (102, 10)}

        left = await client.post(
            f"/api/v1/enrolments/{ids['ann@example.com']}/withdraw", json={}, headers=auth
        )
        assert left.status_code == 200, left.text
        await moodle_world.deliver()
    assert set(site.enrolments) == {(101, 7), (101, 10), (102, 10)}  # the old course keeps ann
    assert (await pushes(sessions))[-1] == ("unenrol", "ann@example.com", 102, "sent")
    assert {p[3] for p in await pushes(sessions)} == {"sent"}


async def pushes(sessions) -> list[tuple[str, str, int, str]]:
    async with sessions() as s:
        rows = await s.execute(
            select(OutboxMessage.payload, OutboxMessage.status)
            .where(OutboxMessage.kind == "moodle")
            .order_by(OutboxMessage.id)
        )
        return [(p["action"], p["email"], p["course_id"], status.value) for p, status in rows.all()]


def test_catalog_import_sends_an_items_enrolments_when_it_maps_it(db_url, moodle, tmp_path):
    _, url = moodle

    async def seed() -> None:
        engine = make_engine(db_url)
        try:
            world = await World(make_sessionmaker(engine), None, url).build()
            await world.enrol("ann@example.com", "plain")
            await world.enrol("bob@example.com", "plain")
            await world.enrol("ann@example.com", "m101")
        finally:
            await engine.dispose()

    asyncio.run(seed())
    csv_rows = "slug,kind,title,moodle_course_id\nplain,topic,Plain,104\nm101,topic,M101,101\n"
    done = import_csv(db_url, tmp_path, csv_rows)
    assert done.exit_code == 0, done.output
    assert (
        "Imported items: 0 created, 1 updated, 1 unchanged. 2 enrolments already in items just "
        "mapped to a Moodle course queued for it." in done.output
    )

    async def held() -> list[tuple[str, str, int, str]]:
        engine = make_engine(db_url)
        try:
            return await pushes(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    assert asyncio.run(held()) == [
        ("enrol", "ann@example.com", 101, "pending"),  # a click's, when m101 was already mapped
        ("enrol", "ann@example.com", 104, "pending"),
        ("enrol", "bob@example.com", 104, "pending"),
    ]
    again = import_csv(db_url, tmp_path, csv_rows)
    assert "Nothing changed" in again.output and "queued" not in again.output
    assert len(asyncio.run(held())) == 3


def import_csv(db_url: str, folder: Path, text: str):
    path = folder / "catalog.csv"
    path.write_text(text)
    env = {"DATABASE_URL": db_url, "ENROLBOT_SECRET_KEY": "moodle-map-test-key-0123456789abcdef"}
    return CliRunner().invoke(main, ["catalog", "import", str(path)], env=env)


def test_setting_moodle_url_sends_what_mapped_items_already_held(db_url, moodle):
    """MOODLE_URL given to a running install whose items were mapped before: at its next start
    the service sends the site every open enrolment of theirs, once; later starts send nothing."""
    site, url = moodle

    async def seed() -> None:
        engine = make_engine(db_url)
        try:
            world = await World(make_sessionmaker(engine), None, url).build(site=False)
            await world.enrol("ann@example.com", "m101")
            await world.enrol("bob@example.com", "m102")
            await world.enrol("ann@example.com", "plain")
            await world.enrol("cat@example.com", "m101")
            await world.withdraw("cat@example.com", "m101")
        finally:
            await engine.dispose()

    async def held() -> list[tuple[str, str, int, str]]:
        engine = make_engine(db_url)
        try:
            return await pushes(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    asyncio.run(seed())
    assert asyncio.run(held()) == []  # no site while they were made: nothing went
    settings = Settings(
        _env_file=None,
        DATABASE_URL=db_url,
        ENROLBOT_SECRET_KEY="k" * 40,
        MOODLE_URL=url,
        MOODLE_TOKEN=site.token,
    )
    sent = [("enrol", "ann@example.com", 101, "sent"), ("enrol", "bob@example.com", 102, "sent")]
    with ServedApp(create_app(settings)):
        # Moodle holds them a moment before their rows say sent: both are waited for.
        wait_until(lambda: sorted(asyncio.run(held())) == sent, "the backfill", 30)
    assert set(site.enrolments) == {(101, 7), (102, 8)}
    with ServedApp(create_app(settings)):  # the same site again: it already has them
        assert len(asyncio.run(held())) == 2
