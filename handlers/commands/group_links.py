"""group link usergroup | channel, group unlink: a Slack user group or a channel an admin chooses
becomes a group that Slack keeps (its members follow Slack's, with their start and end).

The platform finds what the admin named and starts the group's first sync once the command is
answered (handlers.commands.linking); every sentence about it is here.
"""

from __future__ import annotations

from handlers import directory
from handlers.commands.context import CommandContext, CommandError
from handlers.commands.groups import _kind, group_named, source_words
from handlers.commands.linking import LinkProblem, LinkTarget
from handlers.commands.registry import Args, Option, Role, command
from handlers.directory import Origin
from handlers.replies import Notice, Tone, echo, plural
from store.models import Group, GroupSource

LINKED = (GroupSource.SLACK_USERGROUP, GroupSource.SLACK_CHANNEL, GroupSource.TEAMS_TEAM)
PAID_PLAN = (
    "Slack user groups need a paid Slack plan (Pro or above): this workspace's plan has none, "
    "so none can be a group. Link a channel instead: `group link channel #channel`."
)


def invite_me(called: str) -> str:
    return (
        f"I'm not in {called}, so Slack would not tell me who joins or leaves it. Invite me "
        f"there first: type `/invite @enrolbot` in {called}, then link it again."
    )


def _shown(word: str) -> str:
    """A picked channel or user group as people know it (#ops, @design)."""
    if word.startswith("<") and word.endswith(">") and "|" in word:
        name = word[1:-1].split("|", 1)[1]
        return name if name.startswith("@") else ("#" if word.startswith("<#") else "@") + name
    return word


def _problem(problem: LinkProblem, source: GroupSource, word: str) -> str:
    word = _shown(word)
    what = "user group" if source is GroupSource.SLACK_USERGROUP else "channel"
    if problem is LinkProblem.PAID_PLAN:
        return PAID_PLAN
    if problem is LinkProblem.NOT_IN_CHANNEL:
        return invite_me(echo(word))
    if problem is LinkProblem.ARCHIVED:
        return f"{echo(word)} is archived; nothing was linked."
    if problem is LinkProblem.DISABLED:
        return f"The user group {echo(word)} is disabled in Slack; enable it there first."
    pick = "@ suggestions" if what == "user group" else "# suggestions"
    return f"I can't find the {what} {echo(word)}: pick it from the {pick}. Nothing was linked."


async def _link(ctx: CommandContext, source: GroupSource, word: str) -> Notice:
    linker = ctx.group_links
    if linker is None:
        raise CommandError("Linking groups works in Slack only.")
    found = await linker.find(source, word)
    if isinstance(found, LinkProblem):
        raise CommandError(_problem(found, source, word))
    return await _linked(ctx, found)


async def _linked(ctx: CommandContext, target: LinkTarget) -> Notice:
    org = ctx.organisation.id
    known = {g.source_id for g in await directory.source_groups(ctx.session, org, target.source)}
    if target.source_id in known:
        return Notice(
            f"{echo(target.called)} is a group already ({echo(target.name)}); "
            "`group sync slack` fetches its members now."
        )
    group = await directory.source_group(
        ctx.session, org, target.source, target.source_id, target.name
    )
    await ctx.record(
        "group.linked", group=group.name, source=target.source.value, source_id=target.source_id
    )
    assert ctx.group_links is not None
    ctx.group_links.sync_soon(target)
    return Notice(
        f"Linked {echo(target.called)} as the group {echo(group.name)}: Slack keeps its members "
        "from now on. I'm fetching them now and will tell you privately how it went.",
        Tone.SUCCESS,
    )


@command(
    "group link usergroup",
    "@HANDLE",
    "make a Slack user group a group whose members follow Slack's",
    role=Role.ADMIN,
    doing="manage groups",
    examples=("group link usergroup @design",),
    least=1,
    needs="which user group (@handle)",
    most=1,
    platform="slack",
    elsewhere="type `/enrol group link usergroup @handle` in Slack.",
)
async def link_usergroup(ctx: CommandContext, args: Args) -> Notice:
    return await _link(ctx, GroupSource.SLACK_USERGROUP, args.words[0])


@command(
    "group link channel",
    "#CHANNEL",
    "make a channel's members a group that follows who joins and leaves",
    role=Role.ADMIN,
    doing="manage groups",
    examples=("group link channel #new-starters",),
    least=1,
    needs="which channel (#channel)",
    most=1,
    platform="slack",
    elsewhere="type `/enrol group link channel #channel` in Slack.",
)
async def link_channel(ctx: CommandContext, args: Args) -> Notice:
    return await _link(ctx, GroupSource.SLACK_CHANNEL, args.words[0])


@command(
    "group unlink",
    "GROUP",
    "stop following a linked group (a Slack user group or channel, a Teams team); its "
    "members' history stays",
    role=Role.ADMIN,
    doing="manage groups",
    options=(Option("kind", "KIND"),),
    examples=("group unlink Design",),
    least=1,
    needs="which group",
    most=1,
)
async def unlink(ctx: CommandContext, args: Args) -> Notice:
    group = await _linked_group(ctx, args.words[0], args.value("kind"))
    had = await directory.delete_group(ctx.session, group, Origin(group.source.value))
    await ctx.record("group.unlinked", group=group.name, source=group.source.value, members=had)
    return Notice(
        f"Unlinked {echo(group.name)} ({source_words(group.source)}); it had "
        f"{plural(had, 'member')}, whose history stays.",
        Tone.SUCCESS,
    )


async def _linked_group(ctx: CommandContext, name: str, kind: str | None) -> Group:
    group = await group_named(ctx, name, _kind(kind))
    if group.source not in LINKED:
        raise CommandError(
            f"{echo(group.name)} isn't linked to Slack or Teams ({source_words(group.source)}): "
            "`group delete` deletes it."
        )
    return group
