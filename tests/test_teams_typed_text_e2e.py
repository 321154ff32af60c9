"""What people typed is shown as they typed it on Teams cards: rendered as Teams renders
TextBlocks, no label, title or echoed word becomes a link, emphasis, list or heading."""

from __future__ import annotations

import html
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from sqlalchemy import update

from bot.teams import cards
from store.models import CatalogItem
from tests.support.teams_world import TeamsWorld, card_text


@pytest.fixture
def world(db_url, tmp_path):
    with TeamsWorld(db_url, tmp_path) as w:
        yield w


# Teams on desktop and the web renders TextBlocks with markdown-it; markdown-it-py is its port.
RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": True}).enable("linkify")
EVIL = "[Verify your account](https://evil.example)"


def rendered(markdown: str) -> str:
    return RENDERER.render(markdown)


def disguised_links(page: str) -> list[tuple[str, str]]:
    """Links whose text is not their destination: a bare URL or domain made a link, showing
    itself, is fine; "Verify your account" leading to evil.example is not."""

    def bare(url: str) -> str:
        url = re.sub(r"^(https?://|mailto:)", "", html.unescape(url).replace("\u200b", ""))
        return url.lower().rstrip("/")

    return [
        (href, shown)
        for href, shown in re.findall(r'<a href="([^"]*)">(.*?)</a>', page)
        if bare(RENDERER.normalizeLinkText(html.unescape(href))) != bare(shown)
    ]


def assert_shown_literally(content: dict, *typed: str) -> None:
    """Each TextBlock renders with no link other than a bare URL showing itself, no emphasis,
    list, heading or quote that a person's text made; and what they typed reads as typed."""
    blocks = [b["text"] for b in _text_blocks(content)]
    read = []
    for text in blocks:
        page = rendered(text)
        assert not disguised_links(page), (text, page)
        assert not re.search(r"<(em|ul|ol|li|h\d|blockquote|hr|code)\b", page), (text, page)
        plain = html.unescape(re.sub(r"<[^>]+>", "", page)).replace("\u200b", "")
        read.append(" ".join(plain.split()))
    for words in typed:
        assert any(words in line for line in read), (words, read)


def _text_blocks(node: object) -> list[dict]:
    if isinstance(node, list):
        return [b for n in node for b in _text_blocks(n)]
    if isinstance(node, dict):
        found = [node] if node.get("type") == "TextBlock" else []
        return found + [b for v in node.values() for b in _text_blocks(v)]
    return []


@given(
    st.text(
        st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="&<"),
        max_size=60,
    ).map(str.strip)
)
@settings(max_examples=400, deadline=None)
def test_any_typed_text_renders_as_typed_and_links_nothing(typed):
    page = rendered(cards.escape(typed))
    assert not disguised_links(page)
    plain = html.unescape(re.sub(r"<[^>]+>", "", page)).replace("\u200b", "").strip()
    assert " ".join(plain.split()) == " ".join(typed.split())


def test_a_guests_markdown_link_comes_back_as_plain_text(world):
    reply = world.say("guest", f'"{EVIL}"')
    assert_shown_literally(reply)
    if "evil.example" in json.dumps(reply):  # echoed: then exactly as typed
        assert EVIL in card_text(reply)


def test_labels_and_titles_on_cards_read_as_typed(world):
    label = f"{EVIL} **now**"
    created = world.say("admin", f"link create safety-101 --label '{label}'")
    assert_shown_literally(created, f"({label}) is ready:")
    assert_shown_literally(world.say("admin", "link list safety-101"), label)
    assert_shown_literally(world.say("admin", "link delete 4"), label)
    title = "- [Win a prize](https://evil.example) _today_"
    world.db.run(rename("safety-101", title))
    token, card_id = world.post_card()
    [posted] = [s for s in world.connector.sent if s.new_id == card_id]
    card = posted.body["attachments"][0]["content"]
    assert_shown_literally(card, title)
    assert_shown_literally(
        world.invoke("ann", "enrol", {"token": token}, card_id=card_id)["value"],
        title,
        f"You're enrolled in {title}.",
    )
    form = world.say("admin", "link create safety-101")
    assert_shown_literally(form, f"A new link for {title}.")


def rename(slug: str, title: str):
    async def work(session):
        await session.execute(
            update(CatalogItem).where(CatalogItem.slug == slug).values(title=title)
        )

    return work
