"""The admin command grammar, parsed once for every platform (DESIGN.md, "Admin command grammar").

Slack's `/enrol ...` and a message `enrol ...` to the Teams bot both arrive here as text, with
who asked and where; the answer is plain data from handlers.replies for the adapter to render.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import admins, alerts, audit, catalog, links
from handlers.identity import Account, Person, Profile, identify
from handlers.replies import (
    AskLinkDetails,
    ConfirmLinkDelete,
    EnrolButton,
    LinkCreated,
    Notice,
    PostProblem,
    Reply,
    Tone,
    label_problem,
    post_failed,
)
from handlers.signing import LinkSigner
from handlers.users import find_by_email, normalise_email
from store.models import (
    AdminRole,
    CatalogItem,
    DigestMode,
    EnrolmentLink,
    NotificationSubscription,
    Organisation,
    User,
)

ITEMS_SHOWN = 50
T = TypeVar("T")

# Chat clients turn straight quotes into curly ones; people mean the straight kind. A lone ’ is
# an apostrophe (Bob’s), so curly single quotes count only when an opening one is there too.
_DOUBLE_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"'})
_SINGLE_QUOTES = str.maketrans({"‘": "'", "’": "'"})
# Slack sends a picked channel as <#C123|name>; a typed #name is passed on for the platform.
_CHANNEL = re.compile(r"^<#([A-Z0-9]+)(?:\|([^>]*))?>$|^#([\w.-]+)$")
_MENTION = re.compile(r"^<@([^>|\s]+)(?:\|[^>]*)?>$")  # Slack user ids, Entra object ids


class CommandError(Exception):
    """A command that cannot be carried out; the message says what to type instead."""


@dataclass
class CommandContext:
    session: AsyncSession
    organisation: Organisation
    account: Account
    caller: Person
    signer: LinkSigner
    public_url: str
    bootstrap_admins: frozenset[str]
    prefix: str  # how the platform's users start a command: "/enrol" or "enrol"
    lookup_profile: Callable[[str], Awaitable[Profile]]  # a mentioned person's profile, by id
    # Where the command was typed, and whether the bot may post in a channel (by id).
    channel_id: str | None = None
    channel_name: str | None = None
    check_channel: Callable[[str], Awaitable[PostProblem | None]] | None = None
    admin_destination: str | None = None  # how to reach the caller privately later
    role: AdminRole | None = None

    def usage(self, form: str) -> str:
        return f"`{self.prefix} {form}`"


def split(text: str) -> list[str]:
    """Words as a shell splits them, so labels with spaces can be quoted."""
    try:
        text = text.translate(_DOUBLE_QUOTES)
        if "‘" in text:
            text = text.translate(_SINGLE_QUOTES)
        return shlex.split(text)
    except ValueError:
        raise CommandError(
            'A quote is left open: close it, e.g. --label "Team intranet".'
        ) from None


def _options(
    args: list[str], takes_value: set[str], flags: set[str], usage: str
) -> tuple[list[str], dict[str, str | bool]]:
    positional: list[str] = []
    found: dict[str, str | bool] = {}
    words = iter(args)
    for word in words:
        if not word.startswith("--"):
            positional.append(word)
            continue
        name, eq, value = word[2:].partition("=")
        if name in flags and not eq:
            found[name] = True
        elif name in takes_value:
            if not eq:
                value = next(words, None)  # type: ignore[assignment]
                if value is None:
                    raise CommandError(f"--{name} needs a value: {usage}.")
            found[name] = value
        else:
            known = sorted(f"--{o}" for o in takes_value | flags)
            takes = f"it takes {', '.join(known)}" if known else "it takes no options"
            raise CommandError(f"I don't know the option --{name} here; {takes}: {usage}.")
    return positional, found


def _need(positional: list[str], count: int, what: str, usage: str) -> None:
    if len(positional) < count:
        raise CommandError(f"Tell me {what}: {usage}.")
    if len(positional) > count:
        extra = positional[count]
        raise CommandError(
            f"I didn't expect `{extra}` there: {usage}. Put quotes around text with spaces."
        )


_LINK_ID = re.compile(r"^[0-9]{1,18}$")
_LARGEST_ID = 2**31 - 1  # the id column's range on PostgreSQL


def _link_id(word: str, ctx: CommandContext) -> int:
    if not _LINK_ID.match(word):
        raise CommandError(
            f"`{word}` isn't a link id. {ctx.usage('link list ITEM')} shows an item's links, "
            "each line starting with its id."
        )
    if int(word) > _LARGEST_ID:
        raise links.LinkError(f"There is no link {word}.")
    return int(word)


def _help(ctx: CommandContext) -> Notice:
    if ctx.role is None:
        return Notice(
            "To enrol, click an Enrol button in a channel or open an enrolment link: you're "
            "enrolled at once as who you are here, with no forms. Enrolment links and buttons "
            "are managed by your training admins; ask them for training you can't find.",
            heading="enrolbot",
        )
    p = ctx.prefix
    lines = [
        f"`{p} items [QUERY]`: topics, articles and pathways, with their slugs",
        f"`{p} link create ITEM [--label TEXT] [--notes TEXT]`: a new link (no label: a form asks)",
        f"`{p} link list ITEM`: an item's links: id, label, status, uses, created",
        f"`{p} link deactivate LINK` and `{p} link activate LINK`: switch a link off and on",
        f"`{p} link delete LINK [--yes]`: destroy a link for good (asks first without --yes)",
        f"`{p} post ITEM|LINK [#channel]`: post an Enrol button (default: the item's default "
        "link, in this channel)",
    ]
    if ctx.role is AdminRole.SUPER:
        lines += [
            f"`{p} admin add EMAIL|@person [--standard]`: make someone an admin (super unless "
            "--standard)",
            f"`{p} admin remove EMAIL|@person` and `{p} admin list`: who can manage enrolment",
        ]
    lines.append(
        "ITEM is an item's slug; LINK is a link's id. Quote text with spaces: "
        '--label "Team intranet".'
    )
    return Notice("What I can do for you:", lines=tuple(lines), heading="enrolbot")


async def run(ctx: CommandContext, text: str) -> Reply:
    """Carry out one command line; every mistake becomes a Notice that says what to do."""

    async def work() -> Reply:
        words = split(text)
        if not words or words[0].lower() in ("help", "-h", "--help", "?"):
            return _help(ctx)
        command = _COMMANDS.get(words[0].lower())
        if command is None:
            raise CommandError(
                f"I don't know `{words[0]}`. {ctx.usage('help')} lists what I can do."
            )
        return await command(ctx, words[1:])  # type: ignore[return-value]

    return await _guarded(ctx, work)


@dataclass(frozen=True)
class FieldProblem:
    """A form value to correct, shown on its field."""

    field: str
    message: str


async def submit_link_form(
    ctx: CommandContext, item_slug: str, label: str, notes: str
) -> Reply | FieldProblem:
    """The new-link form (a Slack modal, a Teams card) was sent."""

    async def work() -> Reply | FieldProblem:
        user = await _require_admin(ctx, "create links")
        item = await catalog.get_item(ctx.session, ctx.organisation.id, item_slug)
        taken = await duplicate_label(ctx.session, item, label)
        problem = label_problem(label, taken.id if taken else None, links.LABEL_MAX)
        if problem:
            return FieldProblem("label", problem)
        return await create_link_reply(ctx, item, label, notes, user)

    return await _guarded(ctx, work)


async def confirm_link_delete(ctx: CommandContext, link_id: str) -> Reply:
    """The admin confirmed a deletion on the question `link delete` asked."""

    async def work() -> Reply:
        return await delete_link_reply(ctx, _link_id(link_id, ctx))

    return await _guarded(ctx, work)


async def _guarded(ctx: CommandContext, work: Callable[[], Awaitable[T]]) -> T | Notice:
    ctx.role = await admins.role_of(ctx.session, ctx.caller.user, ctx.bootstrap_admins)
    try:
        return await work()
    except (CommandError, catalog.UnknownItem, links.LinkError) as exc:
        return Notice(str(exc), Tone.ERROR)


async def _require_admin(ctx: CommandContext, doing: str, *, super_only: bool = False) -> User:
    allowed = ctx.role is AdminRole.SUPER or (ctx.role is not None and not super_only)
    if not allowed:
        await audit.record(
            ctx.session,
            organisation_id=ctx.organisation.id,
            action="command.refused",
            actor=str(ctx.account),
            actor_user_id=ctx.caller.user.id if ctx.caller.user else None,
            doing=doing,
        )
        who = "super admins" if super_only and ctx.role else "enrolment admins"
        raise CommandError(f"Only {who} can {doing}; nothing was changed.")
    assert ctx.caller.user is not None
    return ctx.caller.user


async def _record(ctx: CommandContext, action: str, **kw: object) -> None:
    await audit.record(
        ctx.session,
        organisation_id=ctx.organisation.id,
        action=action,
        actor=str(ctx.account),
        actor_user_id=ctx.caller.user.id if ctx.caller.user else None,
        **kw,
    )


async def _items(ctx: CommandContext, args: list[str]) -> Notice:
    await _require_admin(ctx, "list the catalog")
    query = " ".join(args).strip() or None
    items, total = await catalog.search_items(ctx.session, ctx.organisation.id, query, ITEMS_SHOWN)
    if not items:
        if query:
            return Notice(f"No item's slug or title contains “{query}”.")
        return Notice("The catalog is empty. Import items with `enrolbot catalog import FILE.csv`.")
    rows = await ctx.session.execute(
        select(EnrolmentLink.item_id, func.count())
        .where(
            EnrolmentLink.item_id.in_([i.id for i in items]),
            EnrolmentLink.deleted_at.is_(None),
        )
        .group_by(EnrolmentLink.item_id)
    )
    counts = {item_id: n for item_id, n in rows}
    lines = [
        f"`{i.slug}` · {i.kind.value} · {i.title} · {_plural(counts.get(i.id, 0), 'link')}"
        for i in items
    ]
    if total > len(items):
        lines.append(
            f"… and {total - len(items)} more: narrow it down with {ctx.usage('items QUERY')}."
        )
    heading = f"Items matching “{query}”" if query else "Items"
    return Notice(f"{_plural(total, 'item')}:", lines=tuple(lines), heading=heading)


async def _link(ctx: CommandContext, args: list[str]) -> object:
    if not args:
        raise CommandError(
            f"`link` needs what to do: create, list, deactivate, activate or delete. "
            f"{ctx.usage('help')} shows how."
        )
    sub, rest = args[0].lower(), args[1:]
    action = _LINK_COMMANDS.get(sub)
    if action is None:
        raise CommandError(
            f"I don't know `link {args[0]}`; use create, list, deactivate, activate or delete. "
            f"{ctx.usage('help')} shows how."
        )
    return await action(ctx, rest)


async def _link_create(ctx: CommandContext, args: list[str]) -> object:
    usage = ctx.usage("link create ITEM [--label TEXT] [--notes TEXT]")
    user = await _require_admin(ctx, "create links")
    positional, opts = _options(args, {"label", "notes"}, set(), usage)
    _need(positional, 1, "which item", usage)
    item = await catalog.get_item(ctx.session, ctx.organisation.id, positional[0])
    if "label" not in opts:
        links.ensure_accepts_extra_links(item)  # say so now rather than after the form
        return AskLinkDetails(item.slug, item.title, notes=opts.get("notes"))  # type: ignore[arg-type]
    return await create_link_reply(
        ctx, item, str(opts["label"]), str(opts.get("notes") or ""), user
    )


async def create_link_reply(
    ctx: CommandContext, item: CatalogItem, label: str, notes: str, user: User
) -> LinkCreated:
    """Create an extra link and say where it can be used (the command and the form share it)."""
    taken = await duplicate_label(ctx.session, item, label) if label.strip() else None
    if taken is not None:
        raise CommandError(
            f"Link {taken.id} already has the label “{label.strip()}”; choose another."
        )
    link = await links.create_link(
        ctx.session, item, label=label, notes=notes, created_by_user_id=user.id
    )
    await _record(ctx, "link.created", item_id=item.id, link_id=link.id, label=link.label)
    return LinkCreated(
        link_id=link.id,
        item_title=item.title,
        label=link.label,
        url=deep_link(ctx.public_url, links.token_for(ctx.signer, link)),
        post_hint=(
            f"Post it as a button with {ctx.usage(f'post {link.id} #channel')}, or share the URL "
            "in documents and email."
        ),
    )


def deep_link(public_url: str, token: str) -> str:
    return f"{public_url}/enrol/{token}"


async def duplicate_label(
    session: AsyncSession, item: CatalogItem, label: str
) -> EnrolmentLink | None:
    """An existing link of the item with this label, which would make the two hard to tell apart."""
    for link in await links.links_of(session, item):
        if (link.label or "").casefold() == label.strip().casefold():
            return link
    return None


async def _link_list(ctx: CommandContext, args: list[str]) -> Notice:
    usage = ctx.usage("link list ITEM")
    await _require_admin(ctx, "list links")
    positional, _ = _options(args, set(), set(), usage)
    _need(positional, 1, "which item", usage)
    item = await catalog.get_item(ctx.session, ctx.organisation.id, positional[0])
    found = await links.links_of(ctx.session, item)
    uses = await links.uses_of(ctx.session, [link.id for link in found])
    lines = []
    for link in found:
        label = link.label or ("default" if link.is_default else "no label")
        status = "active" if link.is_active else "deactivated"
        line = (
            f"{link.id} · {label} · {status} · {_plural(uses[link.id], 'use')} · "
            f"created {link.created_at:%Y-%m-%d}"
        )
        if link.notes:
            line += f" · notes: {link.notes}"
        lines.append(line)
    return Notice(
        f"{item.title} ({item.kind.value}) has {_plural(len(found), 'link')}:",
        lines=tuple(lines),
        heading=f"Links of {item.slug}",
    )


async def _link_switch(ctx: CommandContext, args: list[str], active: bool) -> Notice:
    verb = "activate" if active else "deactivate"
    usage = ctx.usage(f"link {verb} LINK")
    await _require_admin(ctx, f"{verb} links")
    positional, _ = _options(args, set(), set(), usage)
    _need(positional, 1, "which link", usage)
    link = await links.get_link(ctx.session, ctx.organisation.id, _link_id(positional[0], ctx))
    item = await ctx.session.get(CatalogItem, link.item_id)
    assert item is not None
    name = _link_name(link, item)
    if not links.set_active(link, active):
        state = "active" if active else "deactivated"
        return Notice(f"{name} is already {state}; nothing changed.")
    await _record(ctx, f"link.{verb}d", item_id=item.id, link_id=link.id)
    if active:
        return Notice(
            f"{name} is active again: its buttons and URLs enrol people once more.", Tone.SUCCESS
        )
    return Notice(
        f"{name} is deactivated: its buttons and URLs now say the link is disabled. "
        f"{ctx.usage(f'link activate {link.id}')} turns it back on.",
        Tone.SUCCESS,
    )


async def _link_delete(ctx: CommandContext, args: list[str]) -> object:
    usage = ctx.usage("link delete LINK [--yes]")
    await _require_admin(ctx, "delete links")
    positional, opts = _options(args, set(), {"yes"}, usage)
    _need(positional, 1, "which link", usage)
    link = await links.get_link(ctx.session, ctx.organisation.id, _link_id(positional[0], ctx))
    if not opts.get("yes"):
        item = await ctx.session.get(CatalogItem, link.item_id)
        assert item is not None
        used = (await links.uses_of(ctx.session, [link.id]))[link.id]
        consequence = (
            f"Every Enrol button and URL made from it stops working for good "
            f"(it has been used {_plural(used, 'time')}). This cannot be undone"
        )
        if link.is_default:
            consequence += f"; {item.title} gets a new default link"
        return ConfirmLinkDelete(link.id, f"Delete {_link_name(link, item)}?", consequence + ".")
    return await delete_link_reply(ctx, link.id)


async def delete_link_reply(ctx: CommandContext, link_id: int) -> Notice:
    """Delete a link for good (the command with --yes and the confirm button share it)."""
    user = await _require_admin(ctx, "delete links")
    link = await links.get_link(ctx.session, ctx.organisation.id, link_id)
    item = await ctx.session.get(CatalogItem, link.item_id)
    assert item is not None
    name = _link_name(link, item)
    replacement = await links.delete_link(ctx.session, link, deleted_by_user_id=user.id)
    await _record(ctx, "link.deleted", item_id=item.id, link_id=link_id)
    text = f"{name} is deleted: its buttons and URLs will never work again."
    if replacement is not None:
        await _record(ctx, "link.created", item_id=item.id, link_id=replacement.id, default=True)
        text += f" {item.title}'s new default link is {replacement.id}."
    return Notice(text, Tone.SUCCESS)


async def _post(ctx: CommandContext, args: list[str]) -> EnrolButton:
    usage = ctx.usage("post ITEM|LINK [#channel]")
    await _require_admin(ctx, "post Enrol buttons")
    positional, _ = _options(args, set(), set(), usage)
    if not positional:
        raise CommandError(f"Tell me what to post: {usage}.")
    channel = channel_name = None
    if len(positional) == 2:
        match = _CHANNEL.match(positional[1])
        if match is None:
            raise CommandError(f"`{positional[1]}` isn't a channel: {usage}, e.g. #ops.")
        channel_id, picked_name, typed_name = match.groups()
        channel = channel_id or f"#{typed_name}"
        channel_name = picked_name or typed_name
    elif len(positional) > 2:
        _need(positional, 2, "", usage)
    target = positional[0]
    if _LINK_ID.match(target):
        link = await links.get_link(ctx.session, ctx.organisation.id, _link_id(target, ctx))
        item = await ctx.session.get(CatalogItem, link.item_id)
        assert item is not None
    else:
        item = await catalog.get_item(ctx.session, ctx.organisation.id, target)
        link = await links.default_link(ctx.session, item)
    if not link.is_active:
        raise CommandError(
            f"{_link_name(link, item)} is deactivated, so its button would refuse everyone. "
            f"Turn it on first: {ctx.usage(f'link activate {link.id}')}."
        )
    await _record(ctx, "link.posted", item_id=item.id, link_id=link.id, channel=channel)
    return EnrolButton(
        channel=channel,
        channel_name=channel_name,
        link_id=link.id,
        token=links.token_for(ctx.signer, link),
        title=item.title,
        kind=item.kind.value,
        url=item.url,
        label=link.label,
    )


async def _admin(ctx: CommandContext, args: list[str]) -> Notice:
    if not args:
        raise CommandError(f"`admin` needs add, remove or list: {ctx.usage('help')} shows how.")
    sub, rest = args[0].lower(), args[1:]
    if sub == "list":
        await _require_admin(ctx, "list admins", super_only=True)
        _options(rest, set(), set(), ctx.usage("admin list"))
        granted = await admins.listed(ctx.session, ctx.organisation.id)
        lines = [f"{u.email} · {role.value} (added with admin add)" for u, role in granted]
        lines += [f"{e} · super (ENROLBOT_ADMINS)" for e in sorted(ctx.bootstrap_admins)]
        return Notice(f"{_plural(len(lines), 'admin')}:", lines=tuple(lines), heading="Admins")
    if sub not in ("add", "remove"):
        raise CommandError(f"I don't know `admin {args[0]}`; use add, remove or list.")
    usage = ctx.usage(f"admin {sub} EMAIL|@person" + (" [--standard]" if sub == "add" else ""))
    me = await _require_admin(ctx, "manage admins", super_only=True)
    positional, opts = _options(rest, set(), {"standard"} if sub == "add" else set(), usage)
    _need(positional, 1, "who", usage)
    target = await _person(ctx, positional[0])
    if sub == "add":
        role = AdminRole.STANDARD if opts.get("standard") else AdminRole.SUPER
        if target.email.lower() in ctx.bootstrap_admins:
            return Notice(f"{target.email} is a super admin through ENROLBOT_ADMINS already.")
        if target.id == me.id:
            raise CommandError("You can't change your own role; ask another super admin.")
        before = await admins.grant(ctx.session, target, role, granted_by=me)
        if before == role:
            return Notice(f"{target.email} is already a {role.value} admin; nothing changed.")
        await _record(ctx, "admin.granted", target=target.email, role=role.value)
        return Notice(f"{target.email} is now a {role.value} admin.", Tone.SUCCESS)
    if target.email.lower() in ctx.bootstrap_admins:
        raise CommandError(
            f"{target.email} is an admin through the ENROLBOT_ADMINS setting; remove them there."
        )
    if target.id == me.id:
        raise CommandError("You can't remove yourself; ask another super admin.")
    if not await admins.revoke(ctx.session, target):
        return Notice(f"{target.email} isn't an admin; nothing changed.")
    await _record(ctx, "admin.revoked", target=target.email)
    return Notice(f"{target.email} is no longer an admin.", Tone.SUCCESS)


async def _person(ctx: CommandContext, word: str) -> User:
    mention = _MENTION.match(word)
    if mention:
        subject = mention.group(1)
        account = Account(ctx.account.provider, ctx.account.tenant_key, subject)
        person = await identify(
            ctx.session,
            ctx.organisation,
            account,
            lambda: ctx.lookup_profile(subject),
            bootstrap_admins=ctx.bootstrap_admins,
        )
        if person.user is None:
            raise CommandError(
                f"{word} can't be an admin: they have no active training account I can match."
            )
        return person.user
    if word.startswith("@"):
        raise CommandError(
            f"I can't tell who {word} is: pick the person from the @ suggestions, or give their "
            "email."
        )
    email = normalise_email(word)
    if email is None:
        raise CommandError(f"`{word}` is neither an email address nor an @mention.")
    user = await find_by_email(ctx.session, ctx.organisation.id, email)
    if user is None:
        raise CommandError(
            f"There's no training account for {email}. Import it with `enrolbot users import` "
            "first."
        )
    return user


async def _notify(ctx: CommandContext, args: list[str]) -> Notice:
    usage = ctx.usage("notify ITEM|all [#channel] [--off] [--digest hourly|daily] [--email EMAIL]")
    user = await _require_admin(ctx, "manage self-enrolment alerts")
    positional, opts = _options(args, {"digest", "email"}, {"off"}, usage)
    if not positional:
        if opts:
            raise CommandError(f"Tell me which item, or all: {usage}.")
        return await _notify_list(ctx)
    if len(positional) > 2:
        _need(positional, 2, "", usage)
    target = positional[0]
    item = (
        None
        if target.lower() == "all"
        else await catalog.get_item(ctx.session, ctx.organisation.id, target)
    )
    what = "every item" if item is None else item.title
    mode = DigestMode.INSTANT
    if "digest" in opts:
        if opts.get("off"):
            raise CommandError("--off and --digest don't go together: --off stops the alerts.")
        try:
            mode = DigestMode(str(opts["digest"]).lower())
        except ValueError:
            raise CommandError(f"--digest takes hourly or daily: {usage}.") from None
    if "email" in opts:
        if len(positional) > 1:
            raise CommandError("Give either a channel or --email, not both.")
        email = normalise_email(str(opts["email"]))
        if email is None:
            raise CommandError(f"`{opts['email']}` isn't an email address.")
        where, key, channel_name = email, {"email": email}, None
    else:
        channel_id, channel_name = ctx.channel_id, ctx.channel_name
        if len(positional) == 2:
            match = _CHANNEL.match(positional[1])
            if match is None or not match.group(1):
                raise CommandError(
                    f"`{positional[1]}` isn't a channel I can find: pick it from the # "
                    "suggestions as you type."
                )
            channel_id, channel_name = match.group(1), match.group(2) or match.group(1)
        if not channel_id:
            raise CommandError(f"Tell me which channel: {usage}.")
        where = f"#{channel_name}" if channel_name else "this channel"
        key = {
            "provider": ctx.account.provider,
            "tenant_key": ctx.account.tenant_key,
            "channel_id": channel_id,
        }
    existing = await alerts.find_subscription(
        ctx.session, ctx.organisation.id, item.id if item else None, **key
    )
    if opts.get("off"):
        if existing is None:
            return Notice(f"{where} gets no alerts for {what}; nothing changed.")
        await ctx.session.delete(existing)
        await _record(ctx, "notify.off", item_id=item.id if item else None, destination=where)
        return Notice(f"{where} no longer gets self-enrolment alerts for {what}.", Tone.SUCCESS)
    if "channel_id" in key and ctx.check_channel is not None:
        problem = await ctx.check_channel(key["channel_id"])
        if problem is not None:
            failed = post_failed(problem, where)
            raise CommandError(failed.text + " Nothing was subscribed.")
    how = _mode_text(mode)
    if existing is not None and existing.disabled_at is None and existing.mode == mode:
        return Notice(f"{where} already gets {how} for {what}; nothing changed.")
    if existing is None:
        existing = NotificationSubscription(
            organisation_id=ctx.organisation.id, item_id=item.id if item else None, **key
        )
        ctx.session.add(existing)
    existing.mode = mode
    existing.channel_name = (key.get("channel_id") and channel_name) or None
    existing.created_by_user_id = user.id
    existing.admin_destination = ctx.admin_destination
    existing.disabled_at = existing.disabled_reason = None
    await ctx.session.flush()
    item_id = item.id if item else None
    await _record(ctx, "notify.on", item_id=item_id, destination=where, mode=mode.value)
    return Notice(f"{where} now gets {how} when people enrol themselves in {what}.", Tone.SUCCESS)


async def _notify_list(ctx: CommandContext) -> Notice:
    if not ctx.channel_id:
        raise CommandError("Tell me which item, or all.")
    subs = await alerts.subscriptions_for(
        ctx.session,
        ctx.organisation.id,
        provider=ctx.account.provider,
        tenant_key=ctx.account.tenant_key,
        channel_id=ctx.channel_id,
    )
    lines = []
    for sub, item in subs:
        what = item.title if item else "every item"
        where = f"to {sub.email}" if sub.email else "here"
        line = f"{what} · {_mode_text(sub.mode)} {where}"
        if sub.disabled_at:
            line += f" · stopped: {sub.disabled_reason}"
        lines.append(line)
    if not lines:
        return Notice(
            "This channel gets no self-enrolment alerts. "
            f"{ctx.usage('notify ITEM|all')} subscribes it."
        )
    if ctx.organisation.primary_admin_email:
        lines.append(
            f"every item · instant alerts to {ctx.organisation.primary_admin_email} (primary admin)"
        )
    return Notice("Self-enrolment alerts:", lines=tuple(lines))


def _mode_text(mode: DigestMode) -> str:
    return {
        DigestMode.INSTANT: "instant alerts",
        DigestMode.HOURLY: "an hourly digest",
        DigestMode.DAILY: "a daily digest",
    }[mode]


def _link_name(link: EnrolmentLink, item: CatalogItem) -> str:
    label = link.label or ("default link" if link.is_default else "no label")
    return f"Link {link.id} ({item.title}, {label})"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


_COMMANDS: dict[str, Callable[[CommandContext, list[str]], Awaitable[object]]] = {
    "items": _items,
    "link": _link,
    "links": _link,
    "post": _post,
    "admin": _admin,
    "admins": _admin,
    "notify": _notify,
}

_LINK_COMMANDS: dict[str, Callable[[CommandContext, list[str]], Awaitable[object]]] = {
    "create": _link_create,
    "new": _link_create,
    "list": _link_list,
    "deactivate": lambda ctx, a: _link_switch(ctx, a, False),
    "disable": lambda ctx, a: _link_switch(ctx, a, False),
    "activate": lambda ctx, a: _link_switch(ctx, a, True),
    "reactivate": lambda ctx, a: _link_switch(ctx, a, True),
    "enable": lambda ctx, a: _link_switch(ctx, a, True),
    "delete": _link_delete,
}
