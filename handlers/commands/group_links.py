"""group link usergroup | channel, group unlink: a Slack user group or a channel an admin chooses
becomes a group that Slack keeps (its members follow Slack's, with their start and end); unlinking
keeps the members, in a group kept by hand (handlers.directory.links says why).

The platform finds what the admin named and starts the group's first sync once the command is
answered (handlers.commands.linking); every sentence about it is here.
"""

from __future__ import annotations

from handlers import directory
from handlers.commands.context import CommandContext, CommandError
from handlers.commands.groups import _kind, group_named, source_words
from handlers.commands.linking import LinkProblem, LinkTarget
from handlers.commands.registry import Args, Option, Role, command
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
    group, again = await directory.link_group(
        ctx.session, org, target.source, target.source_id, target.name
    )
    await ctx.record(
        "group.linked", group=group.name, source=target.source.value, source_id=target.source_id
    )
    assert ctx.group_links is not None
    ctx.group_links.sync_soon(target)
    if again:
        return Notice(
            f"Linked {echo(target.called)} again: the group {echo(group.name)}, kept by hand "
            "since it was unlinked, follows Slack again. I'm fetching its members now (who "
            f"isn't in {echo(target.called)} any more leaves the group) and will tell you "
            "privately how it went.",
            Tone.SUCCESS,
        )
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
    "stop following a group's Slack user group, channel or Teams team; the group keeps its members",
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
    was = group.name
    done = await directory.unlink_group(ctx.session, group)
    if done is None:  # unlinked meanwhile, by Teams or another admin
        raise CommandError(f"{echo(was)} isn't linked any more; `group show` says what it is.")
    await ctx.record(
        "group.unlinked", group=done.name, source=done.source.value, members=done.members
    )
    return Notice(unlinked_text(was, done), Tone.SUCCESS)


# What a group's members follow, by its source, as a sentence names it.
_FOLLOWED = {
    GroupSource.SLACK_USERGROUP: "the Slack user group",
    GroupSource.SLACK_CHANNEL: "the channel",
    GroupSource.TEAMS_TEAM: "the team",
}


def as_typed(name: str) -> str:
    """A group's name as it is typed in a command: quoted if it has spaces."""
    name = echo(name).replace('"', "'")
    return f'"{name}"' if " " in name else name


def unlinked_text(was: str, done: directory.Unlinked) -> str:
    """What an admin reads once a group stopped following its source: that it keeps its
    members, that the source's changes no longer reach it, and how to empty it."""
    followed = _FOLLOWED[done.source]
    renamed = (
        f" It is called {echo(done.name)} now, as a group kept by hand had its name."
        if done.name != was
        else ""
    )
    typed = as_typed(done.name)
    return (
        f"Unlinked {echo(was)} from {source_words(done.source)}. It keeps its "
        f"{plural(done.members, 'member')}, and changes in {followed} no longer reach it: it is "
        f"kept by hand now (`group add`, `group remove`).{renamed} If you meant to empty it, "
        f"`group delete {typed}` ends every membership and deletes the group."
    )


async def _linked_group(ctx: CommandContext, name: str, kind: str | None) -> Group:
    """The linked group called `name`, even when a group kept by hand shares its name."""
    found = await directory.find_group(ctx.session, ctx.organisation.id, name, _kind(kind))
    linked = [g for g in found if g.source in LINKED]
    if len(linked) == 1:
        return linked[0]
    group = await group_named(ctx, name, _kind(kind))
    if group.source not in LINKED:
        raise CommandError(
            f"{echo(group.name)} isn't linked to Slack or Teams ({source_words(group.source)}): "
            "`group delete` deletes it."
        )
    return group


def team_unlinked_text(was: str, done: directory.Unlinked, *, deleted: bool) -> str:
    """What the admins read once a team's group stopped following it without a command: the
    app was removed from the team, or the team deleted."""
    typed = as_typed(done.name)
    if deleted:
        what = f"The team {echo(was)} was deleted in Teams, so its group stopped following it."
        again = (
            "If the team is restored (Teams keeps a deleted team for 30 days), send "
            "`enrol group link team` in one of its channels to follow it again."
        )
    else:
        what = f"enrolbot was removed from the team {echo(was)}, so its group stopped following it."
        again = (
            "To follow the team again, add the app back to it and send `enrol group link team` "
            "in one of its channels."
        )
    renamed = f" The group is called {echo(done.name)} now." if done.name != was else ""
    return (
        f"{what} The group keeps its {plural(done.members, 'member')}, and people joining or "
        f"leaving the team no longer change it: it is kept by hand now.{renamed} {again} If you "
        f"meant to empty it, `enrol group delete {typed}` ends every membership and deletes the "
        "group."
    )
