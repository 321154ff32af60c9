"""admin add | remove | list: who may manage enrolment."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers import admins
from handlers.commands import (
    run,
)
from handlers.identity import Profile
from handlers.replies import (
    EnrolButton,
    LinkCreated,
    Notice,
    Tone,
)
from store.models import (
    AdminGrant,
    AdminRole,
    Identity,
    Standing,
    UserStatus,
)
from tests.support.command_world import (
    ADMINS,
    BOSS,
    TEAM,
    actions,
    error,
    new_audit,
)

# admin add / remove / list -------------------------------------------------------------------------


async def test_admin_add_by_email_makes_a_super_admin(acme):
    before = await acme.db()
    ann = acme.users["ann@example.com"]
    reply = await run(await acme.ctx(BOSS), "admin add Ann@Example.com")
    assert reply == Notice("ann@example.com is now a super admin.", Tone.SUCCESS)
    after = await acme.db()
    assert after.grants == before.grants | {"ann@example.com": "super"}
    async with acme.sessions() as s:
        grant = (
            await s.execute(select(AdminGrant).where(AdminGrant.user_id == ann.id))
        ).scalar_one()
        assert grant.granted_by_user_id == acme.users[BOSS].id
    assert [(r[0], r[5]) for r in new_audit(before, after)] == [
        ("admin.granted", {"target": "ann@example.com", "role": "super"})
    ]
    # Ann can now manage admins herself.
    assert isinstance(await run(await acme.ctx("ann@example.com"), "admin list"), Notice)
    assert await admins.role_of(acme.session, ann, ADMINS) is AdminRole.SUPER


async def test_admin_add_standard_then_again_then_super(acme):
    ctx = await acme.ctx("sue@example.com")
    reply = await run(ctx, "admin add ann@example.com --standard")
    assert reply == Notice("ann@example.com is now a standard admin.", Tone.SUCCESS)
    assert (await acme.db()).grants["ann@example.com"] == "standard"
    reply = await run(ctx, "admin add ann@example.com --standard")
    assert reply == Notice("ann@example.com is already a standard admin; nothing changed.")
    reply = await run(ctx, "admin add ann@example.com")
    assert reply == Notice("ann@example.com is now a super admin.", Tone.SUCCESS)
    assert (await acme.db()).grants["ann@example.com"] == "super"


async def test_admin_add_of_an_enrolbot_admins_admin_changes_nothing(acme):
    before = await acme.db()
    reply = await run(await acme.ctx("sue@example.com"), "admin add BOSS@example.com --standard")
    assert reply == Notice("boss@example.com is a super admin through ENROLBOT_ADMINS already.")
    after = await acme.db()
    assert after.grants == before.grants
    assert new_audit(before, after) == []


@pytest.mark.parametrize("mention", ["<@UCAT42>", "<@UCAT42|cat>"])
async def test_admin_add_by_mention_matches_the_mentioned_account(acme, mention):
    acme.profiles["UCAT42"] = Profile(email="CAT@example.com", first_name="Cat")
    reply = await run(await acme.ctx(BOSS), f"admin add {mention} --standard")
    assert reply == Notice("cat@example.com is now a standard admin.", Tone.SUCCESS)
    after = await acme.db()
    assert after.grants["cat@example.com"] == "standard"
    async with acme.sessions() as s:
        identity = (
            await s.execute(select(Identity).where(Identity.subject == "UCAT42"))
        ).scalar_one()
    assert (identity.provider, identity.tenant_key, identity.user_id) == (
        "slack",
        TEAM,
        acme.users["cat@example.com"].id,
    )


@pytest.mark.parametrize(
    "profile",
    [
        Profile(email="new@example.com"),  # no training account
        Profile(email="cat@example.com", standing=Standing.GUEST),
        Profile(email=None),
    ],
)
async def test_admin_add_of_a_mention_with_no_usable_account_is_refused(acme, profile):
    acme.profiles["UNEW"] = profile
    before = await acme.db()
    reply = await run(await acme.ctx(BOSS), "admin add <@UNEW>")
    assert error(reply) == (
        "<@UNEW> can't be an admin: they have no active training account I can match."
    )
    after = await acme.db()
    assert after.grants == before.grants
    assert "admin.granted" not in actions(new_audit(before, after))


async def test_admin_remove_and_list(acme):
    ctx = await acme.ctx(BOSS)
    await run(ctx, "admin add cat@example.com --standard")
    reply = await run(ctx, "admin list")
    assert reply == Notice(
        "4 admins:",
        lines=(
            "cat@example.com · standard (added with admin add)",
            "sam@example.com · standard (added with admin add)",
            "sue@example.com · super (added with admin add)",
            "boss@example.com · super (ENROLBOT_ADMINS)",
        ),
        heading="Admins",
    )
    before = await acme.db()
    acme.profiles["USUE"] = Profile(email="sue@example.com")
    assert await run(ctx, "admin remove <@USUE>") == Notice(
        "sue@example.com is no longer an admin.", Tone.SUCCESS
    )
    assert await run(ctx, "admin remove SAM@example.com") == Notice(
        "sam@example.com is no longer an admin.", Tone.SUCCESS
    )
    assert await run(ctx, "admin remove sam@example.com") == Notice(
        "sam@example.com isn't an admin; nothing changed."
    )
    after = await acme.db()
    assert after.grants == {"cat@example.com": "standard"}
    assert [(r[0], r[5]) for r in new_audit(before, after)] == [
        ("admin.revoked", {"target": "sue@example.com"}),
        ("admin.revoked", {"target": "sam@example.com"}),
    ]
    assert await run(ctx, "admins list") == Notice(
        "2 admins:",
        lines=(
            "cat@example.com · standard (added with admin add)",
            "boss@example.com · super (ENROLBOT_ADMINS)",
        ),
        heading="Admins",
    )
    # the removed no longer manage anything
    reply = await run(await acme.ctx("sam@example.com"), "link list safety-101")
    assert error(reply) == "Only enrolment admins can list links; nothing was changed."


async def test_changing_your_own_role_is_refused(acme):
    before = await acme.db()
    reply = await run(await acme.ctx("sue@example.com"), "admin add sue@example.com --standard")
    assert error(reply) == "You can't change your own role; ask another super admin."
    assert (await acme.db()).grants == before.grants


async def test_removing_yourself_is_refused(acme):
    before = await acme.db()
    reply = await run(await acme.ctx("sue@example.com"), "admin remove sue@example.com")
    assert error(reply) == "You can't remove yourself; ask another super admin."
    after = await acme.db()
    assert after.grants == before.grants
    assert new_audit(before, after) == []


@pytest.mark.parametrize("who", [BOSS, "sue@example.com"])
async def test_removing_an_enrolbot_admins_admin_is_refused(acme, who):
    before = await acme.db()
    reply = await run(await acme.ctx(who), "admin remove Boss@example.com")
    assert error(reply) == (
        "boss@example.com is an admin through the ENROLBOT_ADMINS setting; remove them there."
    )
    after = await acme.db()
    assert after.grants == before.grants
    assert new_audit(before, after) == []


@pytest.mark.parametrize(
    ("text", "doing"),
    [
        ("admin add ann@example.com", "manage admins"),
        ("admin add ann@example.com --standard", "manage admins"),
        ("admin remove sue@example.com", "manage admins"),
        ("admin list", "list admins"),
    ],
)
async def test_standard_admins_cannot_manage_admins(acme, text, doing):
    before = await acme.db()
    reply = await run(await acme.ctx("sam@example.com"), text)
    assert error(reply) == f"Only super admins can {doing}; nothing was changed."
    after = await acme.db()
    assert after.grants == before.grants
    assert new_audit(before, after) == [
        (
            "command.refused",
            f"slack:{TEAM}:USAM",
            acme.users["sam@example.com"].id,
            None,
            None,
            {"doing": doing},
        )
    ]


async def test_a_standard_admin_manages_links(acme):
    ctx = await acme.ctx("sam@example.com")
    created = await run(ctx, "link create safety-101 --label Intranet")
    assert isinstance(created, LinkCreated)
    assert (await acme.db()).links[created.link_id][7] == acme.users["sam@example.com"].id
    assert isinstance(await run(ctx, f"post {created.link_id}"), EnrolButton)


async def test_a_deactivated_admin_can_no_longer_create_or_deactivate_links(acme):
    """Deactivation in the portal ends every admin right at once (it used to leave them)."""
    link = await acme.extra_link(acme.safety, "Intranet")
    await acme.session.commit()
    for email in ("sam@example.com", BOSS):  # a granted admin, and one from ENROLBOT_ADMINS
        ctx = await acme.ctx(email)
        acme.users[email].status = UserStatus.DEACTIVATED
        await acme.session.flush()
        before = await acme.db()
        for text, doing in (
            ("link create safety-101 --label Email", "create links"),
            (f"link deactivate {link.id}", "deactivate links"),
        ):
            reply = await run(ctx, text)
            assert error(reply) == f"Only enrolment admins can {doing}; nothing was changed."
        after = await acme.db()
        assert (after.links, after.grants) == (before.links, before.grants)
        assert actions(new_audit(before, after)) == ["command.refused", "command.refused"]
        assert await admins.role_of(acme.session, acme.users[email], ADMINS) is None
