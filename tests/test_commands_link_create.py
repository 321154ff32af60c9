"""link create and the new-link form: the exact reply and what the database holds afterwards."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from handlers.commands import FieldProblem, run, submit_link_form
from handlers.links import LinkState, check_token
from handlers.replies import AskLinkDetails, LinkCreated
from store.models import EnrolmentLink
from tests.support.command_world import BOSS, PUBLIC_URL, SIGNER, TEAM, actions, error, new_audit

# link create ---------------------------------------------------------------------------------------


async def test_link_create_with_label_and_notes_gives_a_deep_link_that_verifies(acme):
    before = await acme.db()
    reply = await run(
        await acme.ctx(BOSS),
        'link create safety-101 --label "Team intranet" --notes "Sent to HR in May"',
    )
    assert isinstance(reply, LinkCreated)
    assert (reply.item_title, reply.label) == ("Safety 101", "Team intranet")
    assert reply.url.startswith(PUBLIC_URL + "/enrol/")
    # The URL only names the item for now, so the hint no longer tells admins to share it.
    assert reply.post_hint == (
        f"Post it as a button with `/enrol post {reply.link_id} #channel`; people enrol by "
        "clicking it."
    )
    token = reply.url.removeprefix(PUBLIC_URL + "/enrol/")
    check = await check_token(acme.session, SIGNER, token, acme.org.id)
    assert (check.state, check.link.id, check.item.slug) == (
        LinkState.OK,
        reply.link_id,
        "safety-101",
    )

    after = await acme.db()
    assert set(after.links) - set(before.links) == {reply.link_id}
    boss_id = acme.users[BOSS].id
    assert after.links[reply.link_id] == (
        "safety-101",
        "Team intranet",
        "Sent to HR in May",
        False,  # default
        True,  # active
        True,  # has a secret
        False,  # deleted
        boss_id,
    )
    assert new_audit(before, after) == [
        (
            "link.created",
            f"slack:{TEAM}:UBOSS",
            boss_id,
            acme.safety.id,
            reply.link_id,
            {"label": "Team intranet"},
        )
    ]


async def test_link_create_takes_the_label_after_an_equals_sign(acme):
    reply = await run(
        await acme.ctx("sam@example.com"), 'link create gdpr-basics --label="Q3 email"'
    )
    assert isinstance(reply, LinkCreated)
    assert reply.label == "Q3 email"
    after = await acme.db()
    assert after.links[reply.link_id][:3] == ("gdpr-basics", "Q3 email", None)


async def test_link_create_accepts_the_curly_quotes_chat_clients_type(acme):
    reply = await run(
        await acme.ctx(BOSS), "link create safety-101 --label “Team intranet” --notes ‘for HR’"
    )
    assert isinstance(reply, LinkCreated)
    after = await acme.db()
    assert after.links[reply.link_id][1:3] == ("Team intranet", "for HR")


async def test_link_create_without_a_label_asks_for_the_details_and_creates_nothing(acme):
    before = await acme.db()
    ctx = await acme.ctx(BOSS)
    assert await run(ctx, "link create safety-101") == AskLinkDetails("safety-101", "Safety 101")
    assert await run(ctx, 'link create SAFETY-101 --notes "for HR"') == AskLinkDetails(
        "safety-101", "Safety 101", notes="for HR"
    )
    after = await acme.db()
    assert after.links == before.links
    assert new_audit(before, after) == []


@pytest.mark.parametrize(
    "text", ["link create onboarding --label Intranet", "link create onboarding"]
)
async def test_link_create_on_a_pathway_is_refused_with_a_sentence(acme, text):
    before = await acme.db()
    reply = await run(await acme.ctx(BOSS), text)
    assert error(reply) == (
        "Onboarding is a pathway, and pathways have only their default link; "
        "post or share that one instead."
    )
    after = await acme.db()
    assert after.links == before.links
    assert new_audit(before, after) == []


async def test_link_create_of_an_unknown_item_suggests_the_closest_slug(acme):
    before = await acme.db()
    ctx = await acme.ctx(BOSS)
    reply = await run(ctx, "link create saftey-101 --label Intranet")
    assert error(reply) == "There is no item `saftey-101`. Did you mean `safety-101`?"
    reply = await run(ctx, "link create fire-drill --label Intranet")
    assert error(reply) == "There is no item `fire-drill`. `items` lists them."
    assert (await acme.db()).links == before.links


async def test_an_apostrophe_is_not_an_open_quote(acme):
    reply = await run(await acme.ctx(BOSS), "link create safety-101 --label Bob’s")
    assert reply.label == "Bob’s"


# the new-link form ---------------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["", "   "])
async def test_the_form_wants_a_label(acme, label):
    before = await acme.db()
    reply = await submit_link_form(await acme.ctx(BOSS), "safety-101", label, "notes")
    assert reply == FieldProblem(
        "label", "Give the link a label, so you can tell it apart from the item's other links."
    )
    assert (await acme.db()).links == before.links


async def test_the_form_refuses_a_label_another_link_of_the_item_has(acme):
    taken = await acme.extra_link(acme.safety, "Intranet")
    await acme.extra_link(acme.gdpr, "Email")  # another item's label is no clash
    before = await acme.db()
    ctx = await acme.ctx(BOSS)
    for label in ("Intranet", "INTRANET", "  intranet "):
        reply = await submit_link_form(ctx, "safety-101", label, "")
        assert reply == FieldProblem(
            "label", f"Link {taken.id} already has this label; choose another."
        )
    assert (await acme.db()).links == before.links
    assert isinstance(await submit_link_form(ctx, "safety-101", "Email", ""), LinkCreated)


async def test_the_form_refuses_a_label_too_long(acme):
    reply = await submit_link_form(await acme.ctx(BOSS), "safety-101", "x" * 201, "")
    assert reply == FieldProblem("label", "Keep the label to 200 characters.")


async def test_a_good_form_creates_the_link(acme):
    before = await acme.db()
    reply = await submit_link_form(
        await acme.ctx("sam@example.com"), "gdpr-basics", " Q3 email ", " Sent to sales "
    )
    assert isinstance(reply, LinkCreated)
    assert (reply.item_title, reply.label) == ("GDPR basics", "Q3 email")
    assert reply.url.startswith(PUBLIC_URL + "/enrol/")
    token = reply.url.rsplit("/", 1)[1]
    check = await check_token(acme.session, SIGNER, token, acme.org.id)
    assert (check.state, check.link.id) == (LinkState.OK, reply.link_id)
    after = await acme.db()
    assert set(after.links) - set(before.links) == {reply.link_id}
    assert after.links[reply.link_id][:4] == ("gdpr-basics", "Q3 email", "Sent to sales", False)
    assert actions(new_audit(before, after)) == ["link.created"]


async def test_the_form_for_a_pathway_or_a_vanished_item_says_why(acme):
    ctx = await acme.ctx(BOSS)
    assert error(await submit_link_form(ctx, "onboarding", "Intranet", "")) == (
        "Onboarding is a pathway, and pathways have only their default link; "
        "post or share that one instead."
    )
    assert error(await submit_link_form(ctx, "fire-drill", "Intranet", "")) == (
        "There is no item `fire-drill`. `items` lists them."
    )
    async with acme.sessions() as s:
        count = await s.scalar(
            select(func.count()).select_from(EnrolmentLink).where(EnrolmentLink.label.is_not(None))
        )
    assert count == 0


async def test_link_create_in_teams_suggests_posting_where_the_command_is_sent(acme):
    ctx = await acme.ctx(BOSS, prefix="enrol", channels_by_name=False)
    reply = await run(ctx, "link create safety-101 --label Intranet")
    assert isinstance(reply, LinkCreated)
    assert reply.post_hint == (
        f"Post it as a button: send `enrol post {reply.link_id}` where it should appear; people "
        "enrol by clicking it."
    )
