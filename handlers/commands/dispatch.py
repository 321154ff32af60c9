"""One way in for every command: resolve the words, check the role, parse the options, run.

A refusal is checked and audited here, once, for every command, the command's form and its
confirm button alike; every mistake becomes a Notice that says what to type instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from handlers import admins, catalog, links, tokens
from handlers.commands import audience, registry
from handlers.commands.context import CommandContext, CommandError
from handlers.commands.parsing import parse, split
from handlers.commands.registry import Command, Role
from handlers.replies import Notice, Reply, Tone, echo, no_item
from store.models import AdminRole, User

T = TypeVar("T")
HELP = "help"
UNKNOWN = "unknown"


async def run(ctx: CommandContext, text: str) -> Reply:
    """Carry out one command line; every mistake becomes a Notice that says what to do."""

    async def work() -> Reply:
        words = split(text)
        found = registry.resolve(words) if words else (registry.named(HELP), [])
        if found is None:
            raise CommandError(_not_a_command(ctx, words))
        command, rest = found
        await authorise(ctx, command)
        if not command.works_on(ctx.account.provider):
            raise CommandError(command.only_elsewhere())
        return await command.handler(ctx, parse(ctx, command, rest))  # type: ignore[no-any-return]

    return await guarded(ctx, work)


def name_of(text: str) -> str:
    """The registered name of the command in `text` ("link create"), "help" for nothing, and
    "unknown" for anything else, so that metrics get one series per command, not per word typed."""
    try:
        words = split(text)
    except CommandError:
        words = text.split()
    if not words:
        return HELP
    found = registry.resolve(words)
    return found[0].name if found else UNKNOWN


async def guarded(ctx: CommandContext, work: Callable[[], Awaitable[T]]) -> T | Notice:
    """Run a command's work knowing the caller's role; a mistake becomes an error Notice."""
    ctx.role = await admins.role_of(ctx.session, ctx.caller.user, ctx.bootstrap_admins)
    if ctx.role is None:
        ctx.manager = await audience.manages_anyone(ctx.session, ctx.caller.user)
    try:
        return await work()
    except catalog.UnknownItem as exc:
        return Notice(no_item(exc.slug, exc.suggestion), Tone.ERROR)
    except (CommandError, links.LinkError, tokens.TokenError) as exc:
        return Notice(str(exc), Tone.ERROR)


def allows(role: AdminRole | None, needed: Role, manager: bool = False) -> bool:
    """Whether an admin role (or none), for someone who manages others or not, may run it."""
    have = {None: Role.ANYONE, AdminRole.STANDARD: Role.ADMIN, AdminRole.SUPER: Role.SUPER}[role]
    if have is Role.ANYONE and manager:
        have = Role.MANAGER
    return have >= needed


async def authorise(ctx: CommandContext, command: Command) -> User | None:
    """The caller's account if their role allows the command; else audit the refusal and say
    who can. Nothing else has happened yet, so nothing changed."""
    if allows(ctx.role, command.role, ctx.manager):
        return ctx.caller.user
    await ctx.record("command.refused", doing=command.doing)
    raise CommandError(f"{who_can(ctx, command)}; nothing was changed.")


def who_can(ctx: CommandContext, command: Command) -> str:
    """Only enrolment admins can manage links (for a caller the command is not for)."""
    who = "super admins" if command.role is Role.SUPER and ctx.role else "enrolment admins"
    if command.role is Role.MANAGER:
        who = "enrolment admins and managers (people with direct reports in the directory)"
    return f"Only {who} can {command.doing}"


def _not_a_command(ctx: CommandContext, words: list[str]) -> str:
    help_ = ctx.usage(HELP)
    if ctx.role is None:
        # Not echoed: anyone may type anything, and a reply in a channel quoting it would let
        # them speak in the bot's voice. Nor are admin commands named to them.
        return f"I don't know that command. {help_} says what I can do."
    noun = registry.NOUNS.get(words[0].lower())
    if noun is None:
        return f"I don't know `{echo(words[0])}`. {help_} lists what I can do."
    verbs = [
        " ".join(c.words[1:])
        for c in registry.of_noun(noun.word)
        if c.works_on(ctx.account.provider)
    ]
    listed = ", ".join(verbs[:-1]) + f" or {verbs[-1]}"
    if len(words) == 1:
        return noun.missing.format(verbs=listed, help=help_)
    return noun.unknown.format(verbs=listed, help=help_, word=echo(words[1]))
