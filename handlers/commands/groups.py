"""group list | show | create | add | remove | delete | sync: groups of people, by hand.

A group that SCIM, Slack or Teams keeps is changed there only: these commands say where. Adding
someone to a department (company, team, function) also makes it their department.
"""

from __future__ import annotations

from sqlalchemy import func, select

from handlers import directory
from handlers.commands.context import CommandContext, CommandError
from handlers.commands.persons import person_named
from handlers.commands.registry import Args, Option, Role, command, noun
from handlers.directory import Origin
from handlers.directory.groups import clean_name
from handlers.replies import Notice, Tone, echo, plural
from store.models import Group, GroupKind, GroupSource, Membership, User

SHOWN_MEMBERS = 10
GROUPS_SHOWN = 50
KINDS = ", ".join(k.value for k in GroupKind)
_SOURCE_WORDS = {
    GroupSource.SCIM: "SCIM provisioning",
    GroupSource.SLACK_USERGROUP: "a Slack user group",
    GroupSource.SLACK_CHANNEL: "a Slack channel",
    GroupSource.TEAMS_TEAM: "a Teams team",
    GroupSource.FILE: "a file import",
    GroupSource.MANUAL: "made by hand",
    GroupSource.ATTRIBUTE: "people's attributes",
}

noun(
    "group",
    aliases=("groups",),
    missing="`group` needs {verbs}: {help} shows how.",
    unknown="I don't know `group {word}`; use {verbs}.",
)


def source_words(source: GroupSource) -> str:
    return _SOURCE_WORDS[source]


def _kind(word: str | None) -> GroupKind | None:
    if word is None:
        return None
    try:
        return GroupKind(word.lower())
    except ValueError:
        raise CommandError(f"`{echo(word)}` is not a kind of group; use one of {KINDS}.") from None


def _origin(ctx: CommandContext) -> Origin:
    return Origin(GroupSource.MANUAL.value, str(ctx.account))


async def group_named(ctx: CommandContext, name: str, kind: GroupKind | None) -> Group:
    found = await directory.find_group(ctx.session, ctx.organisation.id, name, kind)
    if not found:
        raise CommandError(f"There's no group called {echo(name)}; `group list` shows them.")
    if len(found) > 1:
        kinds = ", ".join(sorted({g.kind.value for g in found}))
        raise CommandError(
            f"Several groups are called {echo(name)} ({kinds}): add --kind KIND to say which."
        )
    return found[0]


async def _people(ctx: CommandContext, words: list[str]) -> list[User]:
    people = {}
    for word in words:
        user = await person_named(ctx, word, cannot="can't join a group")
        people[user.id] = user
    return list(people.values())


def count_people(n: int) -> str:
    return "1 person" if n == 1 else f"{n} people"


def _describe(group: Group) -> str:
    return f"{echo(group.name)} ({group.kind.value})"


@command(
    "group list",
    "[KIND]",
    "the groups of people, with their members' count",
    role=Role.ADMIN,
    doing="manage groups",
    examples=("group list", "group list department"),
    most=1,
)
async def list_(ctx: CommandContext, args: Args) -> Notice:
    kind = _kind(args.words[0] if args.words else None)
    groups = await directory.listed(ctx.session, ctx.organisation.id, kind)
    if not groups:
        return Notice("There are no groups yet: `group create NAME` makes one.")
    lines = [
        f"{echo(g.name)} · {g.kind.value} · {plural(n, 'member')} · {source_words(g.source)}"
        for g, n in groups[:GROUPS_SHOWN]
    ]
    if len(groups) > GROUPS_SHOWN:
        narrow = ctx.usage("group list KIND")
        lines.append(f"… and {len(groups) - GROUPS_SHOWN} more: narrow it down with {narrow}.")
    return Notice(f"{plural(len(groups), 'group')}:", lines=tuple(lines), heading="Groups")


@command(
    "group show",
    "GROUP",
    "a group's kind, source and members",
    role=Role.ADMIN,
    doing="manage groups",
    options=(Option("kind", "KIND"),),
    examples=("group show Sales",),
    least=1,
    needs="which group",
    most=1,
)
async def show(ctx: CommandContext, args: Args) -> Notice:
    group = await group_named(ctx, args.words[0], _kind(args.value("kind")))
    count, shown = await _first_members(ctx, group)
    more = count - len(shown)
    lines = (
        f"Kind: {group.kind.value}",
        f"From: {_origin_words(group)}",
        f"Members: {count}",
        *shown,
        *((f"… and {more} more",) if more > 0 else ()),
    )
    return Notice(f"Group {echo(group.name)}:", lines=lines, heading=echo(group.name))


def _origin_words(group: Group) -> str:
    """Where a group's members come from, with the source's id; and where an unlinked group
    came from."""
    if group.source_id:
        return f"{source_words(group.source)} ({echo(group.source_id, 80)})"
    if group.unlinked_source in _SOURCE_WORDS:
        return f"kept by hand since it was unlinked from {_SOURCE_WORDS[group.unlinked_source]}"
    return source_words(group.source)


async def _first_members(ctx: CommandContext, group: Group) -> tuple[int, list[str]]:
    """How many members a group has, and the first few emails in alphabetical order."""
    open_ = (Membership.group_id == group.id) & Membership.ended_at.is_(None)
    count = await ctx.session.scalar(select(func.count()).select_from(Membership).where(open_))
    rows = await ctx.session.execute(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(open_)
        .order_by(func.lower(User.email))
        .limit(SHOWN_MEMBERS)
    )
    return count or 0, list(rows.scalars())


@command(
    "group create",
    "NAME",
    "make a group (kind: group unless --kind)",
    role=Role.ADMIN,
    doing="manage groups",
    options=(Option("kind", "KIND"),),
    examples=(
        'group create "First aiders" --kind qualification',
        "group create Sales --kind department",
    ),
    least=1,
    needs="the group's name",
)
async def create(ctx: CommandContext, args: Args) -> Notice:
    kind = _kind(args.value("kind")) or GroupKind.GROUP
    name = clean_name(" ".join(args.words))
    if not name:
        raise CommandError("A group needs a name: `group create NAME`.")
    if await directory.find_group(ctx.session, ctx.organisation.id, name, kind):
        return Notice(f"There is a {kind.value} called {echo(name)} already; nothing changed.")
    await directory.named_groups(
        ctx.session, ctx.organisation.id, kind, [name], create=GroupSource.MANUAL
    )
    await ctx.record("group.created", group=name, kind=kind.value)
    return Notice(f"Made the {kind.value} {echo(name)}.", Tone.SUCCESS)


@command(
    "group add",
    "GROUP PEOPLE…",
    "add people (emails or @mentions) to a group",
    role=Role.ADMIN,
    doing="manage groups",
    options=(Option("kind", "KIND"),),
    examples=("group add Sales ann@example.com @sam",),
    least=2,
    needs="the group and who to add",
)
async def add(ctx: CommandContext, args: Args) -> Notice:
    group = await group_named(ctx, args.words[0], _kind(args.value("kind")))
    named = await _people(ctx, args.words[1:])
    try:
        change = await directory.add_members(
            ctx.session, group, [u.id for u in named], _origin(ctx)
        )
    except directory.OwnedElsewhere as exc:
        raise CommandError(str(exc)) from None
    already = len(named) - len(change.joined)
    note = f" ({count_people(already)} already in it)" if already else ""
    if not change.joined:
        return Notice(f"Everyone named is in {_describe(group)} already; nothing changed.")
    await ctx.record("group.members_added", group=group.name, count=len(change.joined))
    return Notice(
        f"Added {count_people(len(change.joined))} to {_describe(group)}{note}.", Tone.SUCCESS
    )


@command(
    "group remove",
    "GROUP PEOPLE…",
    "take people (emails or @mentions) out of a group",
    role=Role.ADMIN,
    doing="manage groups",
    options=(Option("kind", "KIND"),),
    examples=("group remove Sales ann@example.com",),
    least=2,
    needs="the group and who to remove",
)
async def remove(ctx: CommandContext, args: Args) -> Notice:
    group = await group_named(ctx, args.words[0], _kind(args.value("kind")))
    named = await _people(ctx, args.words[1:])
    try:
        change = await directory.remove_members(
            ctx.session, group, [u.id for u in named], _origin(ctx)
        )
    except directory.OwnedElsewhere as exc:
        raise CommandError(str(exc)) from None
    if not change.left:
        return Notice(f"No one named is in {_describe(group)}; nothing changed.")
    await ctx.record("group.members_removed", group=group.name, count=len(change.left))
    return Notice(f"Took {count_people(len(change.left))} out of {_describe(group)}.", Tone.SUCCESS)


@command(
    "group delete",
    "GROUP",
    "delete a group (its members' history stays)",
    role=Role.ADMIN,
    doing="manage groups",
    options=(Option("kind", "KIND"),),
    examples=("group delete Mentors",),
    least=1,
    needs="which group",
    most=1,
)
async def delete(ctx: CommandContext, args: Args) -> Notice:
    group = await group_named(ctx, args.words[0], _kind(args.value("kind")))
    try:
        had = await directory.delete_group(ctx.session, group, _origin(ctx))
    except directory.OwnedElsewhere as exc:
        raise CommandError(str(exc)) from None
    await ctx.record("group.deleted", group=group.name, kind=group.kind.value, members=had)
    return Notice(f"Deleted {_describe(group)}; it had {plural(had, 'member')}.", Tone.SUCCESS)


@command(
    "group sync",
    "[SOURCE]",
    "pull people and groups from SCIM, Slack and Teams now",
    role=Role.ADMIN,
    doing="manage groups",
    examples=("group sync",),
    most=1,
)
async def sync(ctx: CommandContext, args: Args) -> Notice:
    if ctx.directory_sync is None:
        return Notice(directory.NO_SOURCES)
    lines = await ctx.directory_sync(args.words[0] if args.words else None)
    await ctx.record("directory.synced", source=args.words[0] if args.words else "all")
    return Notice("Directory sync:", lines=tuple(lines), heading="Directory sync")
