"""link delete and its confirmation: the exact reply and what the database holds afterwards."""

from __future__ import annotations

from handlers import links
from handlers.commands import confirm_link_delete, run
from handlers.links import LinkState, check_token
from handlers.replies import ConfirmLinkDelete, Notice, Tone
from tests.support.command_world import BOSS, SIGNER, error, new_audit


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
