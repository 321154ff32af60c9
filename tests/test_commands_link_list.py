"""link list | deactivate | activate, and which links a command may name: the exact reply and
what the database holds afterwards."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import select

from handlers import links
from handlers.commands import run
from handlers.enrol import Outcome, enrol_with_token
from handlers.identity import Account
from handlers.links import LinkState, check_token
from handlers.replies import Notice, Tone
from store.models import EnrolmentLink
from tests.support import factories
from tests.support.command_world import BOSS, SIGNER, TEAM, error, new_audit, profile_of

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
