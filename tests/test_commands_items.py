"""items: the catalog as an admin searches it."""

from __future__ import annotations

import pytest

from handlers import links
from handlers.commands import (
    run,
)
from handlers.replies import (
    Notice,
)
from tests.support import factories
from tests.support.command_world import (
    BOSS,
    Acme,
)

# items ---------------------------------------------------------------------------------------------


async def test_items_lists_every_item_by_slug_with_kind_title_and_live_links(acme):
    await acme.extra_link(acme.safety, "Intranet")
    gone = await acme.extra_link(acme.safety, "Old email")
    await links.delete_link(acme.session, gone, deleted_by_user_id=None)
    reply = await run(await acme.ctx(BOSS), "items")
    assert reply == Notice(
        "3 items:",
        lines=(
            "`gdpr-basics` · article · GDPR basics · 1 link",
            "`onboarding` · pathway · Onboarding · 1 link",
            "`safety-101` · topic · Safety 101 · 2 links",
        ),
        heading="Items",
    )


@pytest.mark.parametrize(
    ("query", "slugs"),
    [
        ("safety", ["safety-101"]),
        ("SAFETY", ["safety-101"]),
        ("gdpr basics", ["gdpr-basics"]),  # several words are one query
        ("basics", ["gdpr-basics"]),  # title only
        ("s", ["gdpr-basics", "safety-101"]),
    ],
)
async def test_items_with_a_query_lists_items_whose_slug_or_title_contains_it(acme, query, slugs):
    reply = await run(await acme.ctx("sam@example.com"), f"items {query}")
    assert isinstance(reply, Notice)
    assert reply.heading == f"Items matching “{query}”"
    assert reply.text == f"{len(slugs)} item{'s' if len(slugs) != 1 else ''}:"
    assert [line.split(" · ")[0] for line in reply.lines] == [f"`{s}`" for s in slugs]


async def test_items_with_a_query_that_matches_nothing_says_so(acme):
    reply = await run(await acme.ctx(BOSS), "items fire")
    assert reply == Notice("No item's slug or title contains “fire”.")


async def test_items_in_an_empty_catalog_says_how_to_import(session, sessions):
    org = await factories.organisation(session, "Empty Co")
    await factories.user(session, org, email=BOSS)
    world = Acme(session, sessions, org, None, None, None, {})  # type: ignore[arg-type]
    reply = await run(await world.ctx(BOSS), "items")
    assert reply == Notice(
        "The catalog is empty. Import items with `enrolbot catalog import FILE.csv`."
    )


async def test_items_shows_fifty_and_says_how_many_more(acme):
    for n in range(50):
        await factories.item(acme.session, acme.org, f"course-{n:02}", "article")
    reply = await run(await acme.ctx(BOSS), "items")
    assert isinstance(reply, Notice)
    assert reply.text == "53 items:"
    assert len(reply.lines) == 51
    assert reply.lines[0].startswith("`course-00` · article · ")
    assert reply.lines[-1] == "… and 3 more: narrow it down with `/enrol items QUERY`."


@pytest.mark.parametrize("query", ["_", "%", "safety_101"])
async def test_items_takes_percent_and_underscore_literally(acme, query):
    reply = await run(await acme.ctx(BOSS), f"items {query}")
    assert reply.text == f"No item's slug or title contains “{query}”."
