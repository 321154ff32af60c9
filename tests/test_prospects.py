"""Prospects (outsiders who registered with a token) are kept apart from the self-enrolment
meant for staff and clients: an internal link refuses them with a sentence saying what to do."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers import links
from handlers.enrol import Outcome, enrol_with_token
from handlers.identity import Account
from handlers.replies import Tone, click_reply
from store.models import AuditEvent, Enrolment, UserType
from tests.support import factories
from tests.support.command_world import SIGNER, TEAM, profile_of


async def test_an_internal_link_refuses_a_prospect_and_says_to_use_their_token(acme):
    await factories.user(acme.session, acme.org, email="pat@outside.test", type=UserType.PROSPECT)
    link = await acme.default_link(acme.safety)
    result = await enrol_with_token(
        acme.session,
        signer=SIGNER,
        organisation=acme.org,
        token=links.token_for(SIGNER, link),
        account=Account("slack", TEAM, "UPAT"),
        lookup=lambda: profile_of("pat@outside.test"),
    )
    await acme.session.commit()
    assert result.outcome is Outcome.PROSPECT
    reply = click_reply(result)
    assert (reply.text, reply.tone) == (
        "This link is for the organisation's staff and clients. You registered as an outside "
        "learner (pat@outside.test): to enrol in more training, use the registration page with "
        "the token your contact there gave you, or ask them for one.",
        Tone.ERROR,
    )
    async with acme.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Enrolment)) == 0
        actions = (await s.execute(select(AuditEvent.action))).scalars().all()
    assert "enrol.prospect" in actions
    # A client, by contrast, is enrolled by the same link.
    await factories.user(acme.session, acme.org, email="cli@client.test", type=UserType.CLIENT)
    result = await enrol_with_token(
        acme.session,
        signer=SIGNER,
        organisation=acme.org,
        token=links.token_for(SIGNER, link),
        account=Account("slack", TEAM, "UCLI"),
        lookup=lambda: profile_of("cli@client.test"),
    )
    assert result.outcome is Outcome.ENROLLED
