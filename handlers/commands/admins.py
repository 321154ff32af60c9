"""admin add | remove | list: who may manage enrolment (super admins only)."""

from __future__ import annotations

from handlers import admins
from handlers.commands.context import CommandContext, CommandError
from handlers.commands.persons import person_named
from handlers.commands.registry import Args, Option, Role, command, noun
from handlers.replies import Notice, Tone, plural
from store.models import AdminRole, User

noun(
    "admin",
    aliases=("admins",),
    missing="`admin` needs {verbs}: {help} shows how.",
    unknown="I don't know `admin {word}`; use {verbs}.",
)


@command(
    "admin add",
    "EMAIL|@person",
    "make someone an admin (super unless --standard)",
    role=Role.SUPER,
    doing="manage admins",
    options=(Option("standard"),),
    examples=("admin add sam@example.com --standard", "admin add @sam"),
    least=1,
    needs="who",
    most=1,
)
async def add(ctx: CommandContext, args: Args) -> Notice:
    me = ctx.caller.user
    assert me is not None
    target = await _person(ctx, args.words[0])
    role = AdminRole.STANDARD if args.flag("standard") else AdminRole.SUPER
    if target.email.lower() in ctx.bootstrap_admins:
        return Notice(f"{target.email} is a super admin through ENROLBOT_ADMINS already.")
    if target.id == me.id:
        raise CommandError("You can't change your own role; ask another super admin.")
    before = await admins.grant(ctx.session, target, role, granted_by=me)
    if before == role:
        return Notice(f"{target.email} is already a {role.value} admin; nothing changed.")
    await ctx.record("admin.granted", target=target.email, role=role.value)
    return Notice(f"{target.email} is now a {role.value} admin.", Tone.SUCCESS)


@command(
    "admin remove",
    "EMAIL|@person",
    "take someone's admin rights away",
    role=Role.SUPER,
    doing="manage admins",
    examples=("admin remove sam@example.com",),
    least=1,
    needs="who",
    most=1,
)
async def remove(ctx: CommandContext, args: Args) -> Notice:
    me = ctx.caller.user
    assert me is not None
    target = await _person(ctx, args.words[0])
    if target.email.lower() in ctx.bootstrap_admins:
        raise CommandError(
            f"{target.email} is an admin through the ENROLBOT_ADMINS setting; remove them there."
        )
    if target.id == me.id:
        raise CommandError("You can't remove yourself; ask another super admin.")
    if not await admins.revoke(ctx.session, target):
        return Notice(f"{target.email} isn't an admin; nothing changed.")
    await ctx.record("admin.revoked", target=target.email)
    return Notice(f"{target.email} is no longer an admin.", Tone.SUCCESS)


@command(
    "admin list",
    "",
    "who can manage enrolment",
    role=Role.SUPER,
    doing="list admins",
    most=0,
)
async def list_(ctx: CommandContext, args: Args) -> Notice:
    granted = await admins.listed(ctx.session, ctx.organisation.id)
    lines = [f"{u.email} · {role.value} (added with admin add)" for u, role in granted]
    lines += [f"{e} · super (ENROLBOT_ADMINS)" for e in sorted(ctx.bootstrap_admins)]
    return Notice(f"{plural(len(lines), 'admin')}:", lines=tuple(lines), heading="Admins")


async def _person(ctx: CommandContext, word: str) -> User:
    """The training account an email or an @mention names."""
    return await person_named(ctx, word, cannot="can't be an admin")
