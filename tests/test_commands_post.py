"""post: the Enrol button a command asks for, and its audit once the post succeeded."""

from __future__ import annotations

import pytest

from handlers import links, tokens
from handlers.commands import record_posted, run
from handlers.links import LinkState, check_token
from handlers.replies import (
    EnrolButton,
)
from handlers.signing import RegistrationRef, RegistrationRefSigner, TokenProblem
from tests.support.command_world import (
    BOSS,
    POST_USAGE,
    SIGNER,
    TEAM,
    error,
    new_audit,
)
from tests.support.tampering import tampered

# post ----------------------------------------------------------------------------------------------


async def test_post_an_item_posts_its_default_link_here(acme):
    default = await acme.default_link(acme.safety)
    before = await acme.db()
    reply = await run(await acme.ctx(BOSS), "post safety-101")
    assert isinstance(reply, EnrolButton)
    assert (reply.channel, reply.channel_name, reply.link_id) == (None, None, default.id)
    assert (reply.title, reply.kind, reply.url, reply.label) == (
        "Safety 101",
        "topic",
        "https://learn.example/s101",
        None,
    )
    assert reply.text == "Safety 101 (topic): click Enrol to join."
    check = await check_token(acme.session, SIGNER, reply.token, acme.org.id)
    assert (check.state, check.link.id) == (LinkState.OK, default.id)
    after = await acme.db()
    assert after.links == before.links
    # Audited once the adapter has posted it, so a failed post never reads as posted.
    assert new_audit(before, after) == []
    await record_posted(acme.session, reply, "C0HERE")
    after = await acme.db()
    assert [(r[0], r[3], r[4], r[5]) for r in new_audit(before, after)] == [
        ("link.posted", acme.safety.id, default.id, {"channel": "C0HERE"})
    ]


async def test_post_a_link_by_id_to_a_picked_channel(acme):
    link = await acme.extra_link(acme.gdpr, "Intranet")
    before = await acme.db()
    reply = await run(await acme.ctx("sam@example.com"), f"post {link.id} <#C123|ops>")
    assert isinstance(reply, EnrolButton)
    assert (reply.channel, reply.channel_name, reply.link_id, reply.label, reply.title) == (
        "C123",
        "ops",
        link.id,
        "Intranet",
        "GDPR basics",
    )
    check = await check_token(acme.session, SIGNER, reply.token, acme.org.id)
    assert (check.state, check.link.id) == (LinkState.OK, link.id)
    assert new_audit(before, await acme.db()) == []
    await record_posted(acme.session, reply, reply.channel)
    after = await acme.db()
    assert [r[5] for r in new_audit(before, after)] == [{"channel": "C123"}]


@pytest.mark.parametrize(
    ("word", "channel", "name"),
    [
        ("<#C123|ops>", "C123", "ops"),
        ("<#C0OPS>", "C0OPS", None),
        ("#ops", "#ops", "ops"),
        ("#team.ops-2", "#team.ops-2", "team.ops-2"),
    ],
)
async def test_post_understands_picked_and_typed_channels(acme, word, channel, name):
    reply = await run(await acme.ctx(BOSS), f"post SAFETY-101 {word}")
    assert isinstance(reply, EnrolButton)
    assert (reply.channel, reply.channel_name) == (channel, name)


async def test_post_of_a_deactivated_link_is_refused(acme):
    link = await acme.extra_link(acme.safety, "Intranet")
    default = await acme.default_link(acme.gdpr)
    links.set_active(link, False)
    links.set_active(default, False)
    before = await acme.db()
    ctx = await acme.ctx(BOSS)
    assert error(await run(ctx, f"post {link.id} #ops")) == (
        f"Link {link.id} (Safety 101, Intranet) is deactivated, so its button would refuse "
        f"everyone. Turn it on first: `/enrol link activate {link.id}`."
    )
    assert error(await run(ctx, "post gdpr-basics")) == (
        f"Link {default.id} (GDPR basics, default link) is deactivated, so its button would "
        f"refuse everyone. Turn it on first: `/enrol link activate {default.id}`."
    )
    after = await acme.db()
    assert after.links == before.links
    assert new_audit(before, after) == []


@pytest.mark.parametrize("word", ["ops", "@ops", "<@U123>", "<#c123|ops>", "#", "C123"])
async def test_post_to_something_that_is_not_a_channel_is_refused(acme, word):
    before = await acme.db()
    reply = await run(await acme.ctx(BOSS), f"post safety-101 '{word}'")
    assert error(reply) == f"`{word}` isn't a channel: {POST_USAGE}, e.g. #ops."
    assert new_audit(before, await acme.db()) == []


async def test_a_post_is_audited_with_who_asked_and_a_redrawn_button_is_not(acme):
    link = await acme.extra_link(acme.gdpr, "Intranet")
    before = await acme.db()
    reply = await run(await acme.ctx("sam@example.com"), f"post {link.id}")
    await record_posted(acme.session, reply, "C0HERE")
    redrawn = EnrolButton(None, None, link.id, reply.token, "GDPR basics", "article")
    await record_posted(acme.session, redrawn, "C0HERE")
    after = await acme.db()
    assert new_audit(before, after) == [
        (
            "link.posted",
            f"slack:{TEAM}:USAM",
            acme.users["sam@example.com"].id,
            acme.gdpr.id,
            link.id,
            {"channel": "C0HERE"},
        )
    ]


@pytest.mark.parametrize("word", ["#ops", "<#C123|ops>"])
async def test_post_to_a_named_channel_in_teams_says_to_post_where_it_should_go(acme, word):
    before = await acme.db()
    ctx = await acme.ctx(BOSS, prefix="enrol", channels_by_name=False)
    assert error(await run(ctx, f"post safety-101 {word}")) == (
        "In Teams, send `enrol post ITEM` in the channel or chat where the card should appear."
    )
    assert error(await run(ctx, "post")) == (
        "Tell me what to post: `enrol post ITEM|LINK [--token TOKEN]`."
    )
    assert new_audit(before, await acme.db()) == []


# post --token: a registration button --------------------------------------------------------------


async def test_post_with_a_token_signs_a_reference_to_it_never_its_code(acme):
    token, code = await tokens.create_token(
        acme.session, SIGNER, acme.safety, nickname="Spring fair", created_by_user_id=None
    )
    reply = await run(await acme.ctx(BOSS), f"post safety-101 --token {code.lower()}")
    assert isinstance(reply, EnrolButton)
    assert reply.token_name == f"t{token.id} “Spring fair”"
    assert code not in reply.registration
    refs = RegistrationRefSigner.beside(SIGNER)
    assert refs.read(reply.registration) == RegistrationRef(acme.org.id, token.id)
    assert refs.read(tampered(reply.registration)) is TokenProblem.TAMPERED
    # A link's token is not a registration reference, nor the other way round.
    assert refs.read(reply.token) is TokenProblem.TAMPERED
    assert SIGNER.read(reply.registration) is TokenProblem.TAMPERED
    again = await run(await acme.ctx(BOSS), f"post safety-101 --token t{token.id}")
    assert again.registration is not None and again.link_id == reply.link_id


async def test_post_with_a_token_of_another_item_or_switched_off_says_what_to_do(acme):
    other, _ = await tokens.create_token(
        acme.session, SIGNER, acme.gdpr, nickname=None, created_by_user_id=None
    )
    off, _ = await tokens.create_token(
        acme.session, SIGNER, acme.safety, nickname=None, created_by_user_id=None, active=False
    )
    ctx = await acme.ctx(BOSS)
    before = await acme.db()
    assert error(await run(ctx, f"post safety-101 --token t{other.id}")) == (
        f"Token t{other.id} is for GDPR basics, not Safety 101: post it with "
        f"`/enrol post gdpr-basics --token t{other.id}`."
    )
    assert error(await run(ctx, f"post safety-101 --token t{off.id}")) == (
        f"Token t{off.id} is deactivated, so its button would tell everyone it is disabled. "
        f"Turn it on first: `/enrol token activate t{off.id}`."
    )
    assert error(await run(ctx, "post safety-101 --token t999")).startswith(
        "There is no token t999."
    )
    assert error(await run(ctx, "post safety-101 --token banana")).startswith(
        "`banana` isn't a token."
    )
    assert new_audit(before, await acme.db()) == []
