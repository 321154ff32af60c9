"""help, generated from the registry and filtered by the caller's role: it lists every command the
caller may run, so it cannot leave one out; `help COMMAND` shows one command with examples."""

from __future__ import annotations

from handlers.commands import registry
from handlers.commands.context import CommandContext
from handlers.commands.dispatch import allows, who_can
from handlers.commands.registry import Args, Command, Role, command
from handlers.replies import Notice, echo

LEARNER_HELP = Notice(
    "To enrol, click an Enrol button in a channel or open an enrolment link: you're "
    "enrolled at once as who you are here, with no forms. Enrolment links and buttons "
    "are managed by your training admins; ask them for training you can't find.",
    heading="enrolbot",
)
GLOSSARY = (
    "ITEM is an item's slug; LINK is a link's id; TOKEN is a token's id (t12) or its code; "
    "GROUP is a group's name; RULE is a rule's number. Quote text with spaces: "
    '--label "Team intranet".'
)


def line(ctx: CommandContext, entry: Command) -> str:
    """One command in help: its usage and what it does."""
    summary = entry.summary.format(here=ctx.here)
    return f"{ctx.usage(entry.form(ctx.channels_by_name))}: {summary}"


def _allowed(ctx: CommandContext, entries: list[Command]) -> list[Command]:
    return [
        e
        for e in entries
        if e.words != ("help",)  # help comes last, with the glossary
        and allows(ctx.role, e.role, ctx.manager)
        and e.works_on(ctx.account.provider)
    ]


@command(
    "help",
    "[COMMAND]",
    "this list, or how one command is used, with examples",
    role=Role.ANYONE,
    aliases=("-h", "--help", "?"),
    examples=("help link create", "help notify"),
)
async def help_(ctx: CommandContext, args: Args) -> Notice:
    if ctx.role is None and not ctx.manager:
        # What a learner may type about themselves, so their help is as true as an admin's.
        own = [line(ctx, e) for e in _allowed(ctx, registry.COMMANDS)]
        return Notice(LEARNER_HELP.text, lines=tuple(own), heading=LEARNER_HELP.heading)
    if args.words:
        return _one(ctx, args.words)
    lines = [line(ctx, entry) for entry in _allowed(ctx, registry.COMMANDS)]
    lines += [line(ctx, registry.named("help")), GLOSSARY]
    return Notice("What I can do for you:", lines=tuple(lines), heading="enrolbot")


def _one(ctx: CommandContext, words: list[str]) -> Notice:
    found = registry.resolve(words)
    if found and not found[1]:
        entries = [found[0]]
    else:
        entries = registry.of_noun(words[0])
    allowed = [e for e in entries if allows(ctx.role, e.role, ctx.manager)]
    if entries and not allowed:
        return Notice(f"{who_can(ctx, entries[0])}.")
    if len(allowed) == 1 and not allowed[0].works_on(ctx.account.provider):
        return Notice(allowed[0].only_elsewhere())
    allowed = [e for e in allowed if e.works_on(ctx.account.provider)]
    if not allowed:
        asked = echo(" ".join(words))
        return Notice(
            f"I don't know the command `{asked}`. {ctx.usage('help')} lists what I can do."
        )
    if len(allowed) > 1:
        return Notice(
            f"The {allowed[0].words[0]} commands:",
            lines=tuple(line(ctx, e) for e in allowed),
            heading="enrolbot",
        )
    (entry,) = allowed
    lines = [f"For example: {ctx.usage(e)}" for e in entry.examples_for(ctx.channels_by_name)]
    if entry.aliases:
        spellings = ", ".join(" ".join((*entry.words[:-1], a)) for a in entry.aliases)
        lines.append(f"Also understood: {spellings}")
    return Notice(line(ctx, entry), lines=tuple(lines), heading=ctx.said(entry.name))
