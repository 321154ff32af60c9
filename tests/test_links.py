"""Signed enrolment links: defaults, extra links, every verification reason, rotation, deletion."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, insert, select

from handlers import links
from handlers.enrol import Outcome, enrol_with_token
from handlers.identity import Account, Profile
from handlers.links import LinkError, LinkState, check_token, token_for
from handlers.signing import SLACK_BUTTON_VALUE_LIMIT, LinkSigner
from store.models import Enrolment, EnrolmentLink
from tests.support import factories
from tests.support.tampering import tampered

SIGNER = LinkSigner(["key-one"])


async def test_every_item_is_born_with_one_default_link(session):
    org = await factories.organisation(session)
    for kind in ("topic", "article", "pathway"):
        item = await factories.item(session, org, slug=f"a-{kind}", kind=kind)
        found = await links.links_of(session, item)
        assert [(lk.is_default, lk.is_active) for lk in found] == [(True, True)]


async def test_topics_and_articles_take_extra_links_with_label_and_notes(session):
    org = await factories.organisation(session)
    item = await factories.item(session, org, kind="article")
    extra = await links.create_link(
        session, item, label="Intranet", notes="Sent to HR in May", created_by_user_id=None
    )
    listed = await links.links_of(session, item)
    assert [lk.id for lk in listed][1:] == [extra.id]
    assert (extra.label, extra.notes, extra.is_default) == ("Intranet", "Sent to HR in May", False)


async def test_a_pathway_refuses_an_extra_link_with_a_sentence(session):
    org = await factories.organisation(session)
    item = await factories.item(session, org, slug="onboarding", kind="pathway", title="Onboarding")
    with pytest.raises(LinkError, match="pathways have only their default link"):
        await links.create_link(session, item, label="x", notes=None, created_by_user_id=None)
    assert len(await links.links_of(session, item)) == 1


async def test_the_database_holds_one_default_link_per_item(session):
    org = await factories.organisation(session)
    item = await factories.item(session, org)
    with pytest.raises(Exception, match=r"(?i)unique"):
        await session.execute(
            insert(EnrolmentLink).values(
                organisation_id=org.id,
                item_id=item.id,
                is_default=True,
                is_active=True,
                secret="s",
            )
        )


async def _link(session, kind="topic"):
    org = await factories.organisation(session)
    item = await factories.item(session, org, kind=kind)
    return org, item, await links.default_link(session, item)


async def test_a_good_token_verifies_and_fits_a_slack_button(session):
    org, _item, link = await _link(session)
    token = token_for(SIGNER, link)
    assert len(token) < SLACK_BUTTON_VALUE_LIMIT
    check = await check_token(session, SIGNER, token, org.id)
    assert (check.state, check.link.id, check.item.slug) == (LinkState.OK, link.id, "safety-101")


async def test_a_tampered_token_is_tampered(session):
    org, _, link = await _link(session)
    token = token_for(SIGNER, link)
    for bad in (tampered(token), token[:20], "", "x" * 3000, token + "x"):
        assert (await check_token(session, SIGNER, bad, org.id)).state is LinkState.TAMPERED
    forged = LinkSigner(["not-our-key"]).sign(org.id, link.id, link.secret)
    assert (await check_token(session, SIGNER, forged, org.id)).state is LinkState.TAMPERED


async def test_a_token_for_a_link_that_never_existed_is_unknown(session):
    org, _, _ = await _link(session)
    token = SIGNER.sign(org.id, 999_999, "whatever")
    assert (await check_token(session, SIGNER, token, org.id)).state is LinkState.UNKNOWN


async def test_an_expired_token_is_expired(session, monkeypatch):
    org, _, link = await _link(session)
    old = LinkSigner(["key-one"], max_age_seconds=60)
    token = old.sign(org.id, link.id, link.secret)
    import time

    later = time.time() + 3600
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    assert (await check_token(session, old, token, org.id)).state is LinkState.EXPIRED


async def test_a_token_read_before_expires_all_the_same(session, monkeypatch):
    org, _, link = await _link(session)
    signer = LinkSigner(["key-one"], max_age_seconds=60)
    token = signer.sign(org.id, link.id, link.secret)
    assert (await check_token(session, signer, token, org.id)).state is LinkState.OK
    import time

    later = time.time() + 61
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    monkeypatch.setattr("handlers.signing.time.time", lambda: later)
    assert (await check_token(session, signer, token, org.id)).state is LinkState.EXPIRED


async def test_a_deactivated_link_is_disabled_until_reactivated(session):
    org, _, link = await _link(session)
    token = token_for(SIGNER, link)
    assert links.set_active(link, False) is True
    assert links.set_active(link, False) is False
    assert (await check_token(session, SIGNER, token, org.id)).state is LinkState.DISABLED
    links.set_active(link, True)
    assert (await check_token(session, SIGNER, token, org.id)).state is LinkState.OK


async def test_a_link_of_one_organisation_does_not_verify_in_another(session):
    _org, _, link = await _link(session)
    other = await factories.organisation(session, "Other Co")
    token = token_for(SIGNER, link)
    assert (
        await check_token(session, SIGNER, token, other.id)
    ).state is LinkState.WRONG_ORGANISATION


async def test_deletion_is_final_even_when_an_old_copy_of_the_row_is_written_back(session):
    org, item, _ = await _link(session)
    extra = await links.create_link(
        session, item, label="Email", notes=None, created_by_user_id=None
    )
    token = token_for(SIGNER, extra)
    old_row = {c.name: getattr(extra, c.key) for c in EnrolmentLink.__table__.columns}
    assert await links.delete_link(session, extra, deleted_by_user_id=None) is None
    assert extra.secret is None
    assert (await check_token(session, SIGNER, token, org.id)).state is LinkState.DELETED
    with pytest.raises(LinkError, match="was deleted"):
        await links.get_link(session, org.id, extra.id)
    # Someone restores the row as it was before deletion, secret and all.
    await session.delete(extra)
    await session.flush()
    await session.execute(insert(EnrolmentLink).values(**old_row))
    session.expunge_all()
    assert (await check_token(session, SIGNER, token, org.id)).state is LinkState.DELETED


async def test_deleting_the_default_link_gives_the_item_a_new_default(session):
    org, _item, default = await _link(session)
    token = token_for(SIGNER, default)
    replacement = await links.delete_link(session, default, deleted_by_user_id=None)
    assert replacement is not None and replacement.id != default.id and replacement.is_default
    assert (await check_token(session, SIGNER, token, org.id)).state is LinkState.DELETED
    new_token = token_for(SIGNER, replacement)
    assert (await check_token(session, SIGNER, new_token, org.id)).state is LinkState.OK


async def test_rotation_old_key_verifies_while_listed_and_not_after(session):
    org, _, link = await _link(session)
    token = token_for(LinkSigner(["old"]), link)
    rotated = LinkSigner(["new", "old"])
    assert (await check_token(session, rotated, token, org.id)).state is LinkState.OK
    # the newest key signs: dropping the old one keeps tokens made after the rotation working
    assert (
        await check_token(session, LinkSigner(["new"]), token_for(rotated, link), org.id)
    ).state is LinkState.OK
    assert (
        await check_token(session, LinkSigner(["new"]), token, org.id)
    ).state is LinkState.TAMPERED


async def test_two_concurrent_enrolments_leave_exactly_one_row(sessions):
    async with sessions() as s, s.begin():
        org = await factories.organisation(s)
        item = await factories.item(s, org)
        person = await factories.user(s, org)
        link = await links.default_link(s, item)
        token = token_for(SIGNER, link)
        org_id, user_email = org.id, person.email

    async def click(n: int) -> Outcome:
        async with sessions() as s, s.begin():
            from store.models import Organisation

            org = await s.get(Organisation, org_id)

            async def lookup() -> Profile:
                await asyncio.sleep(0.01)  # let the racers overlap inside their transactions
                return Profile(email=user_email)

            result = await enrol_with_token(
                s,
                signer=SIGNER,
                organisation=org,
                token=token,
                account=Account("slack", "T1", f"U{n}"),
                lookup=lookup,
            )
            return result.outcome

    outcomes = await asyncio.gather(*(click(n) for n in range(6)))
    assert sorted(outcomes) == sorted([Outcome.ENROLLED] + [Outcome.ALREADY_ENROLLED] * 5)
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Enrolment)) == 1
        assert await links.uses_of(s, [link.id]) == {link.id: 1}
