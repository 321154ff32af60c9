"""Items mapped to Moodle courses: by the API's catalog upsert (`external_ids.moodle`) and by
`enrolbot catalog import` with its optional `moodle_course_id` column; the column the connector
reads is what both set, and what the API shows back."""

from __future__ import annotations

import asyncio

from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from store.db import make_engine, make_sessionmaker
from store.models import CatalogItem
from tests.support.api_world import problem, start


async def courses(sessions) -> dict[str, int | None]:
    async with sessions() as s:
        rows = await s.execute(select(CatalogItem.slug, CatalogItem.moodle_course_id))
        return dict(rows.all())


async def test_the_api_maps_an_item_by_its_moodle_external_id(db_url, sessions):
    world = await start(db_url, sessions)
    auth = world.auth(await world.key("catalog:write", "catalog:read"))
    body = {"title": "Fire drills", "kind": "topic", "external_ids": {"moodle": "42", "lms": "F1"}}
    async with world.client as client:
        made = await client.put("/api/v1/catalog/items/fire-drills", json=body, headers=auth)
        assert made.status_code == 201, made.text
        assert made.json()["external_ids"] == {"moodle": "42", "lms": "F1"}
        assert (await courses(sessions))["fire-drills"] == 42
        same = await client.put("/api/v1/catalog/items/fire-drills", json=body, headers=auth)
        assert same.json()["updated_at"] == made.json()["updated_at"]  # nothing changed
        body["external_ids"] = {"lms": "F2"}  # merged key by key: the moodle one stays
        kept = await client.put("/api/v1/catalog/items/fire-drills", json=body, headers=auth)
        assert kept.json()["external_ids"] == {"moodle": "42", "lms": "F2"}
        assert (await courses(sessions))["fire-drills"] == 42
        body["external_ids"] = {"moodle": None}
        unmapped = await client.put("/api/v1/catalog/items/fire-drills", json=body, headers=auth)
        assert unmapped.json()["external_ids"] == {"lms": "F2"}
        assert (await courses(sessions))["fire-drills"] is None
        body["external_ids"] = {"moodle": "course-42"}
        bad = await client.put("/api/v1/catalog/items/fire-drills", json=body, headers=auth)
        detail = problem(bad, 422, "invalid-body")["detail"]
        assert "must be the Moodle course's id, a number" in detail


def cli(db_url: str, *args: str):
    env = {"DATABASE_URL": db_url, "ENROLBOT_SECRET_KEY": "moodle-map-test-key-0123456789abcdef"}
    return CliRunner().invoke(main, list(args), env=env)


def mapped(db_url: str) -> dict[str, int | None]:
    async def run() -> dict[str, int | None]:
        engine = make_engine(db_url)
        try:
            return await courses(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_catalog_import_maps_items_with_its_moodle_course_id_column(db_url, tmp_path):
    csv = tmp_path / "catalog.csv"
    csv.write_text(
        "slug,kind,title,moodle_course_id\nfire,topic,Fire,42\nfirst-aid,topic,First aid,\n"
    )
    done = cli(db_url, "catalog", "import", str(csv))
    assert done.exit_code == 0, done.output
    assert mapped(db_url) == {"fire": 42, "first-aid": None}

    csv.write_text("slug,kind,title\nfire,topic,Fire\n")  # no column: mappings stay
    assert cli(db_url, "catalog", "import", str(csv)).exit_code == 0
    assert mapped(db_url) == {"fire": 42, "first-aid": None}

    csv.write_text(
        "slug,kind,title,moodle_course_id\nfire,topic,Fire,\nfirst-aid,topic,First aid,7\n"
    )
    assert "2 updated" in cli(db_url, "catalog", "import", str(csv)).output
    assert mapped(db_url) == {"fire": None, "first-aid": 7}

    csv.write_text("slug,kind,title,moodle_course_id\nfire,topic,Fire,id=42\n")
    refused = cli(db_url, "catalog", "import", str(csv))
    assert refused.exit_code == 1
    assert (
        "line 2: moodle_course_id 'id=42' must be the course's number in Moodle" in refused.output
    )
    assert mapped(db_url) == {"fire": None, "first-aid": 7}


def test_moodle_settings_turn_the_channel_on_and_a_half_setting_stops_the_start(db_url):
    from pydantic import ValidationError

    from bot.app import create_app
    from bot.settings import Settings

    base = {"_env_file": None, "DATABASE_URL": db_url, "ENROLBOT_SECRET_KEY": "k" * 40}
    on = create_app(Settings(**base, MOODLE_URL="https://moodle.example.edu/", MOODLE_TOKEN="t"))
    assert "moodle" in on.state.delivery.channels
    assert "moodle" not in create_app(Settings(**base)).state.delivery.channels
    for wrong, says in (
        ({"MOODLE_URL": "https://moodle.example.edu"}, "MOODLE_URL is set without MOODLE_TOKEN"),
        ({"MOODLE_URL": "moodle.example.edu", "MOODLE_TOKEN": "t"}, "must be the Moodle site"),
    ):
        try:
            Settings(**base, **wrong)
        except ValidationError as exc:
            assert says in str(exc)
        else:
            raise AssertionError(f"{wrong} was accepted")
