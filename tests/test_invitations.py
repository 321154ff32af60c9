"""invite, invite list|resend|cancel, accepting (handlers.invitations) and join on|off|show, in
process on both databases: what the admin reads, what the database holds, and the group's rule
enrolling the person who accepted (through the rules' follower)."""

from __future__ import annotations

from sqlalchemy import select

from handlers import invitations, join
from handlers.alert_message import GROUP_INVITATION, NOTICE
from handlers.commands import run
from handlers.invitations import Checked, InviteSigner
from handlers.replies import Tone
from handlers.rules.follow import Follower
from store.models import (
    AuditEvent,
    Enrolment,
    Invitation,
    InvitationStatus,
    Membership,
    NotificationSubscription,
    OutboxMessage,
    User,
    UserType,
)
from tests.support.command_world import BOSS, error

SIGNER = InviteSigner(["command-test-key"])


async def _setup(acme):
    ctx = await acme.ctx(BOSS, can_email=True)
    await run(ctx, "group create Newcomers")
    assert (await run(ctx, "rule create safety-101 --group Newcomers")).tone is Tone.SUCCESS
    await acme.session.commit()
    return ctx


async def _links(acme, email: str) -> list[str]:
    rows = await acme.session.execute(
        select(OutboxMessage.payload)
        .where(
            OutboxMessage.kind == GROUP_INVITATION, OutboxMessage.destination == f"email:{email}"
        )
        .order_by(OutboxMessage.id)
    )
    return [
        SIGNER.sign(p["organisation_id"], p["invitation_id"], p["secret"]) for p in rows.scalars()
    ]


async def _follow(acme) -> None:
    await acme.session.commit()
    follower = Follower(acme.sessions)
    while await follower.step() is not None:
        pass


async def _enrolled(acme, email: str) -> list[str]:
    rows = await acme.session.execute(
        select(Enrolment.item_id)
        .join(User, User.id == Enrolment.user_id)
        .where(User.email == email)
    )
    slugs = {acme.safety.id: "safety-101", acme.gdpr.id: "gdpr-basics"}
    return sorted(slugs[i] for i in rows.scalars())


async def test_invite_accept_joins_the_group_and_its_rule_enrols_them(acme):
    ctx = await _setup(acme)
    acme.session.add(NotificationSubscription(organisation_id=acme.org.id, email="ops@example.com"))
    reply = await run(ctx, "invite pat@outside.org --group Newcomers --type client")
    assert reply.text == (
        "Invited 1 person into Newcomers: pat@outside.org. They join once they accept."
    )
    (link,) = await _links(acme, "pat@outside.org")
    await acme.session.commit()
    # Pending: only the email is shown, no user exists, nobody is enrolled.
    listed = await run(ctx, "invite list --status pending")
    assert listed.lines[0].split(" · ")[1:4] == ["pat@outside.org", "Newcomers", "pending"]
    assert (
        await acme.session.execute(select(User).where(User.email == "pat@outside.org"))
    ).first() is None
    checked = await invitations.check(acme.session, SIGNER, acme.org, link)
    assert checked.state is Checked.OK and checked.user is None
    done = await invitations.accept(
        acme.session, SIGNER, acme.org, link, first_name="Pat", last_name="Lane"
    )
    assert done.state is Checked.ACCEPTED
    await _follow(acme)
    pat = (
        await acme.session.execute(select(User).where(User.email == "pat@outside.org"))
    ).scalar_one()
    assert (pat.first_name, pat.last_name, pat.type) == ("Pat", "Lane", UserType.CLIENT)
    assert await _enrolled(acme, "pat@outside.org") == ["safety-101"]
    listed = await run(ctx, "invite list --status accepted")
    assert listed.lines[0].split(" · ")[1:4] == [
        "Pat Lane (pat@outside.org)",
        "Newcomers",
        "accepted",
    ]
    # Opening the link again says it was accepted and changes nothing.
    again = await invitations.check(acme.session, SIGNER, acme.org, link)
    assert again.state is Checked.ACCEPTED
    news = (
        await acme.session.execute(
            select(OutboxMessage.destination, OutboxMessage.payload).where(
                OutboxMessage.kind == NOTICE
            )
        )
    ).all()
    assert (
        "email:ops@example.com",
        {
            "text": "Pat Lane (pat@outside.org) accepted their invitation and joined Newcomers.",
            "subject": "enrolbot: an invitation was accepted",
        },
    ) in [tuple(n) for n in news]
    audit = (await acme.session.execute(select(AuditEvent.action))).scalars().all()
    assert "invite.sent" in audit and "invite.accepted" in audit


async def test_a_known_user_simply_joins_the_group(acme):
    ctx = await _setup(acme)
    await run(ctx, "invite ann@example.com --group Newcomers")
    (link,) = await _links(acme, "ann@example.com")
    checked = await invitations.check(acme.session, SIGNER, acme.org, link)
    assert checked.state is Checked.OK and checked.user.email == "ann@example.com"
    await invitations.accept(acme.session, SIGNER, acme.org, link, first_name="X", last_name="Y")
    await _follow(acme)
    ann = await acme.session.get(User, acme.users["ann@example.com"].id)
    await acme.session.refresh(ann)
    assert ann.first_name != "X"  # a known person's name is theirs, not the form's
    assert await _enrolled(acme, "ann@example.com") == ["safety-101"]
    reply = await run(ctx, "invite ann@example.com --group Newcomers")
    assert reply.lines == ("ann@example.com: already in Newcomers",)


async def test_limits_and_refusals_change_nothing(acme):
    ctx = await _setup(acme)
    eleven = " ".join(f"p{n}@outside.org" for n in range(11))
    assert error(await run(ctx, f"invite {eleven} --group Newcomers")).startswith(
        "You can invite up to 10 people at a time, and you gave 11"
    )
    assert error(await run(ctx, "invite pat@outside.org")).startswith(
        "A group is required to invite: add --group GROUP"
    )
    assert error(await run(ctx, "invite pat --group Newcomers")) == (
        "`pat` is not an email address; nobody was invited."
    )
    assert "no group called Nope" in error(await run(ctx, "invite a@b.org --group Nope"))
    assert "not a type to invite" in error(
        await run(ctx, "invite a@b.org --group Newcomers --type prospect")
    )
    no_smtp = await acme.ctx(BOSS)
    assert "SMTP_URL" in error(await run(no_smtp, "invite a@b.org --group Newcomers"))
    learner = await acme.ctx("ann@example.com", can_email=True)
    assert (await run(learner, "invite a@b.org --group Newcomers")).tone is Tone.ERROR
    await acme.session.commit()
    assert (await acme.session.execute(select(Invitation))).first() is None
    ten = " ".join(f"p{n}@outside.org" for n in range(10))
    assert (await run(ctx, f"invite {ten} --group Newcomers")).text.startswith("Invited 10 people")


async def test_cancel_kills_the_link_and_resend_replaces_it(acme):
    ctx = await _setup(acme)
    await run(ctx, "invite kim@outside.org lou@outside.org --group Newcomers")
    (kim,) = await _links(acme, "kim@outside.org")
    assert len(await _links(acme, "lou@outside.org")) == 1
    reply = await run(ctx, "invite cancel kim@outside.org")
    assert reply.text.startswith("Cancelled invitation i") and reply.tone is Tone.SUCCESS
    assert (await invitations.check(acme.session, SIGNER, acme.org, kim)).state is Checked.CANCELLED
    assert "is cancelled" in error(await run(ctx, "invite resend kim@outside.org"))
    reply = await run(ctx, "invite resend lou@outside.org")
    assert reply.text.endswith("its earlier link no longer works.")
    old, new = await _links(acme, "lou@outside.org")
    assert (await invitations.check(acme.session, SIGNER, acme.org, old)).state is Checked.BROKEN
    assert (await invitations.check(acme.session, SIGNER, acme.org, new)).state is Checked.OK
    refused = await invitations.accept(
        acme.session, SIGNER, acme.org, old, first_name="L", last_name="M"
    )
    assert refused.state is Checked.BROKEN
    assert (
        await invitations.check(acme.session, SIGNER, acme.org, new[:-2] + "xx")
    ).state is Checked.BROKEN
    statuses = {
        e: s
        for e, s in (await acme.session.execute(select(Invitation.email, Invitation.status))).all()
    }
    assert statuses == {
        "kim@outside.org": InvitationStatus.CANCELLED,
        "lou@outside.org": InvitationStatus.PENDING,
    }
    assert "no invitation" in error(await run(ctx, "invite cancel i999"))


async def test_join_on_off_show(acme):
    ctx = await _setup(acme)
    assert (await run(ctx, "join show")).text.startswith("The join page is off")
    assert "Say which group" in error(await run(ctx, "join on"))
    reply = await run(
        ctx, "join on --group Newcomers --allow-domain Example.org --allow-domain @acme.test"
    )
    assert reply.tone is Tone.SUCCESS
    page = await join.page_of(acme.session, acme.org.id)
    assert reply.text.startswith(
        f"The join page is on: https://enrol.example.com/join/{page.path} "
    )
    assert reply.lines == ("Only addresses at @acme.test, @example.org can join.",)
    first = page.path
    await run(ctx, "join on")  # again: a new address, same group and no domains
    page = await join.page_of(acme.session, acme.org.id)
    assert page.path != first and page.enabled and page.domains == []
    assert await join.open_page(acme.session, first) is None
    assert (await run(ctx, "join show")).lines == ("Anyone with the address can join.",)
    assert (await run(ctx, "join off")).text.startswith("The join page is off:")
    assert await join.open_page(acme.session, page.path) is None
    assert (await run(ctx, "join off")).text == "The join page is off already."
    # The join confirmation makes the person a member, and the rule enrols them.
    await run(ctx, "join on --group Newcomers")
    page = await join.page_of(acme.session, acme.org.id)
    signer = join.JoinSigner(["command-test-key"])
    token = signer.sign(
        {
            "organisation_id": acme.org.id,
            "path": page.path,
            "email": "new@web.org",
            "first_name": "Nia",
            "last_name": "Web",
        }
    )
    done = await join.confirm(acme.session, signer, token)
    assert done.outcome is join.Joined.JOINED
    await _follow(acme)
    assert await _enrolled(acme, "new@web.org") == ["safety-101"]
    member = await acme.session.execute(
        select(Membership.source)
        .join(User, User.id == Membership.user_id)
        .where(User.email == "new@web.org")
    )
    assert member.scalars().all() == ["join"]
    await run(ctx, "join on")  # renewed: the link made for the old path is dead
    assert (await join.confirm(acme.session, signer, token)).outcome is join.Joined.BROKEN
