"""link create | list | deactivate | activate | delete, the new-link form and the delete
confirmation: the exact reply and what the database holds afterwards."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import func, select

from handlers import links
from handlers.commands import (
    FieldProblem,
    confirm_link_delete,
    run,
    submit_link_form,
)
from handlers.enrol import Outcome, enrol_with_token
from handlers.identity import Account
from handlers.links import LinkState, check_token
from handlers.replies import (
    AskLinkDetails,
    ConfirmLinkDelete,
    LinkCreated,
    Notice,
    Tone,
)
from store.models import (
    EnrolmentLink,
)
from tests.support import factories
from tests.support.command_world import (
    BOSS,
    PUBLIC_URL,
    SIGNER,
    TEAM,
    actions,
    error,
    new_audit,
    profile_of,
)

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


# link list -----------------------------------------------------------------------------------------


async def test_link_list_prints_one_line_per_link_starting_with_its_id(acme):
    default = await acme.default_link(acme.safety)
    intranet = await acme.extra_link(acme.safety, "Intranet", notes="Sent to HR")
    email = await acme.extra_link(acme.safety, "Q3 email")
    unlabelled = await links.create_link(
        acme.session, acme.safety, label=None, notes=None, created_by_user_id=None
    )
    gone = await acme.extra_link(acme.safety, "Old")
    links.set_active(email, False)
    await links.delete_link(acme.session, gone, deleted_by_user_id=None)
    # Ann enrols through the intranet link: one use.
    result = await enrol_with_token(
        acme.session,
        signer=SIGNER,
        organisation=acme.org,
        token=links.token_for(SIGNER, intranet),
        account=Account("slack", TEAM, "UANN"),
        lookup=lambda: profile_of("ann@example.com"),
    )
    assert result.outcome is Outcome.ENROLLED
    await acme.session.commit()

    reply = await run(await acme.ctx("sam@example.com"), "link list safety-101")
    assert isinstance(reply, Notice)
    assert (reply.text, reply.heading, reply.tone) == (
        "Safety 101 (topic) has 4 links:",
        "Links of safety-101",
        Tone.INFO,
    )
    async with acme.sessions() as s:
        created = {
            lk.id: f"{lk.created_at.astimezone(UTC):%Y-%m-%d}"
            for lk in (await s.execute(select(EnrolmentLink))).scalars()
        }
    assert reply.lines == (
        f"{default.id} · default · active · 0 uses · created {created[default.id]}",
        f"{intranet.id} · Intranet · active · 1 use · created {created[intranet.id]}"
        " · notes: Sent to HR",
        f"{email.id} · Q3 email · deactivated · 0 uses · created {created[email.id]}",
        f"{unlabelled.id} · no label · active · 0 uses · created {created[unlabelled.id]}",
    )
    for line in reply.lines:
        assert line.split(" · ")[0].isdigit()


# link deactivate / activate ------------------------------------------------------------------------


async def test_deactivate_then_activate_a_link_and_repeat_each(acme):
    link = await acme.extra_link(acme.safety, "Intranet")
    token = links.token_for(SIGNER, link)
    ctx = await acme.ctx("sam@example.com")
    name = f"Link {link.id} (Safety 101, Intranet)"
    before = await acme.db()

    reply = await run(ctx, f"link deactivate {link.id}")
    assert reply == Notice(
        f"{name} is deactivated: its buttons and URLs now say the link is disabled. "
        f"`/enrol link activate {link.id}` turns it back on.",
        Tone.SUCCESS,
    )
    assert (await acme.db()).links[link.id][4] is False
    check = await check_token(acme.session, SIGNER, token, acme.org.id)
    assert check.state is LinkState.DISABLED

    reply = await run(ctx, f"link deactivate {link.id}")
    assert reply == Notice(f"{name} is already deactivated; nothing changed.")

    reply = await run(ctx, f"link activate {link.id}")
    assert reply == Notice(
        f"{name} is active again: its buttons and URLs enrol people once more.", Tone.SUCCESS
    )
    assert (await acme.db()).links[link.id][4] is True
    assert (await check_token(acme.session, SIGNER, token, acme.org.id)).state is LinkState.OK

    reply = await run(ctx, f"link activate {link.id}")
    assert reply == Notice(f"{name} is already active; nothing changed.")

    after = await acme.db()
    assert [(row[0], row[4]) for row in new_audit(before, after)] == [
        ("link.deactivated", link.id),
        ("link.activated", link.id),
    ]


async def test_the_default_link_is_named_as_such_and_aliases_work(acme):
    default = await acme.default_link(acme.gdpr)
    ctx = await acme.ctx(BOSS)
    reply = await run(ctx, f"LINKS DISABLE {default.id}")
    assert isinstance(reply, Notice)
    assert reply.text.startswith(f"Link {default.id} (GDPR basics, default link) is deactivated")
    reply = await run(ctx, f"link enable {default.id}")
    assert isinstance(reply, Notice)
    assert reply.text.startswith(f"Link {default.id} (GDPR basics, default link) is active again")
    reply = await run(ctx, f"link reactivate {default.id}")
    assert reply == Notice(
        f"Link {default.id} (GDPR basics, default link) is already active; nothing changed."
    )


async def test_a_link_of_another_organisation_is_no_link_here(acme):
    other = await factories.organisation(acme.session, "Other Co")
    theirs = await factories.item(acme.session, other, "safety-101")
    their_link = await links.default_link(acme.session, theirs)
    before = await acme.db()
    reply = await run(await acme.ctx(BOSS), f"link deactivate {their_link.id}")
    assert (
        error(reply) == f"There is no link {their_link.id}. `link list ITEM` shows an item's links."
    )
    after = await acme.db()
    assert after.links == before.links
    assert after.links[their_link.id][4] is True


# link delete ---------------------------------------------------------------------------------------


async def test_link_delete_without_yes_asks_and_changes_nothing(acme):
    link = await acme.extra_link(acme.safety, "Intranet")
    await acme.enrol_through(link, "ann@example.com", "sam@example.com", "cat@example.com")
    before = await acme.db()
    reply = await run(await acme.ctx(BOSS), f"link delete {link.id}")
    assert reply == ConfirmLinkDelete(
        link.id,
        f"Delete Link {link.id} (Safety 101, Intranet)?",
        "Every Enrol button and URL made from it stops working for good (it has been used "
        "3 times). This cannot be undone.",
    )
    after = await acme.db()
    assert (after.links, after.tombstones) == (before.links, before.tombstones)
    assert new_audit(before, after) == []


async def test_link_delete_of_the_default_link_warns_of_the_new_default(acme):
    default = await acme.default_link(acme.safety)
    await acme.enrol_through(default, "ann@example.com")
    reply = await run(await acme.ctx(BOSS), f"link delete {default.id}")
    assert isinstance(reply, ConfirmLinkDelete)
    assert reply.question == f"Delete Link {default.id} (Safety 101, default link)?"
    assert reply.consequence == (
        "Every Enrol button and URL made from it stops working for good (it has been used "
        "1 time). This cannot be undone; Safety 101 gets a new default link."
    )


async def test_link_delete_with_yes_destroys_the_link_for_good(acme):
    link = await acme.extra_link(acme.safety, "Intranet")
    token = links.token_for(SIGNER, link)
    ctx = await acme.ctx("sam@example.com")
    before = await acme.db()
    reply = await run(ctx, f"link delete {link.id} --yes")
    assert reply == Notice(
        f"Link {link.id} (Safety 101, Intranet) is deleted: its buttons and URLs will never "
        "work again.",
        Tone.SUCCESS,
    )
    after = await acme.db()
    assert after.links[link.id][4:7] == (False, False, True)  # inactive, no secret, deleted
    assert after.tombstones == before.tombstones | {link.id}
    assert [(row[0], row[4]) for row in new_audit(before, after)] == [("link.deleted", link.id)]
    assert (await check_token(acme.session, SIGNER, token, acme.org.id)).state is LinkState.DELETED

    listed = await run(ctx, "link list safety-101")
    assert isinstance(listed, Notice)
    assert not any(line.startswith(f"{link.id} ") for line in listed.lines)
    for again in (f"link delete {link.id} --yes", f"link activate {link.id}", f"post {link.id}"):
        assert error(await run(ctx, again)) == (
            f"Link {link.id} was deleted; deleted links cannot be recovered."
        )


async def test_deleting_the_default_link_gives_the_item_a_new_default(acme):
    default = await acme.default_link(acme.safety)
    before = await acme.db()
    reply = await run(await acme.ctx(BOSS), f"link delete {default.id} --yes")
    after = await acme.db()
    (new_id,) = set(after.links) - set(before.links)
    assert reply == Notice(
        f"Link {default.id} (Safety 101, default link) is deleted: its buttons and URLs will "
        f"never work again. Safety 101's new default link is {new_id}.",
        Tone.SUCCESS,
    )
    assert after.links[default.id][3:7] == (False, False, False, True)
    assert after.links[new_id][:7] == ("safety-101", None, None, True, True, True, False)
    assert [(row[0], row[4]) for row in new_audit(before, after)] == [
        ("link.deleted", default.id),
        ("link.created", new_id),
    ]


async def test_confirm_link_delete_deletes_what_the_question_named(acme):
    link = await acme.extra_link(acme.gdpr, "Q3 email")
    ctx = await acme.ctx(BOSS)
    question = await run(ctx, f"link delete {link.id}")
    assert isinstance(question, ConfirmLinkDelete)
    reply = await confirm_link_delete(ctx, str(question.link_id))
    assert reply == Notice(
        f"Link {link.id} (GDPR basics, Q3 email) is deleted: its buttons and URLs will never "
        "work again.",
        Tone.SUCCESS,
    )
    assert link.id in (await acme.db()).tombstones
    # a second press of the same button
    assert error(await confirm_link_delete(ctx, str(link.id))) == (
        f"Link {link.id} was deleted; deleted links cannot be recovered."
    )
    assert error(await confirm_link_delete(ctx, "x1")) == (
        "`x1` isn't a link id. `/enrol link list ITEM` shows an item's links, each line "
        "starting with its id."
    )


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
