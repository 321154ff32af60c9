"""link create | list | deactivate | activate | delete, and the form and button that finish two of
them (the new-link form, the delete confirmation)."""

from __future__ import annotations

from handlers import catalog, links
from handlers.commands import registry
from handlers.commands.context import CommandContext, CommandError, FieldProblem
from handlers.commands.dispatch import authorise, guarded
from handlers.commands.parsing import link_id
from handlers.commands.registry import Args, Option, Role, command, noun
from handlers.replies import (
    AskLinkDetails,
    ConfirmLinkDelete,
    LinkCreated,
    Notice,
    Reply,
    Tone,
    label_problem,
    plural,
)
from store.models import CatalogItem, EnrolmentLink, User

noun(
    "link",
    aliases=("links",),
    missing="`link` needs what to do: {verbs}. {help} shows how.",
    unknown="I don't know `link {word}`; use {verbs}. {help} shows how.",
)


def link_name(link: EnrolmentLink, item: CatalogItem) -> str:
    label = link.label or ("default link" if link.is_default else "no label")
    return f"Link {link.id} ({item.title}, {label})"


async def _link_and_item(ctx: CommandContext, word: str) -> tuple[EnrolmentLink, CatalogItem]:
    link = await links.get_link(ctx.session, ctx.organisation.id, link_id(word, ctx))
    item = await ctx.session.get(CatalogItem, link.item_id)
    assert item is not None
    return link, item


@command(
    "link create",
    "ITEM",
    "a new link (no label: a form asks)",
    role=Role.ADMIN,
    doing="create links",
    options=(Option("label", "TEXT"), Option("notes", "TEXT")),
    aliases=("new",),
    examples=('link create safety-101 --label "Team intranet"', "link create safety-101"),
    least=1,
    needs="which item",
    most=1,
)
async def create(ctx: CommandContext, args: Args) -> Reply:
    item = await catalog.get_item(ctx.session, ctx.organisation.id, args.words[0])
    label = args.value("label")
    if label is None:
        links.ensure_accepts_extra_links(item)  # say so now rather than after the form
        return AskLinkDetails(item.slug, item.title, notes=args.value("notes"))
    assert ctx.caller.user is not None
    return await create_link_reply(ctx, item, label, args.value("notes") or "", ctx.caller.user)


async def create_link_reply(
    ctx: CommandContext, item: CatalogItem, label: str, notes: str, user: User
) -> LinkCreated:
    """Create an extra link and say how to use it (the command and the form share it)."""
    taken = await links.with_label(ctx.session, item, label) if label.strip() else None
    if taken is not None:
        raise CommandError(
            f"Link {taken.id} already has the label “{label.strip()}”; choose another."
        )
    link = await links.create_link(
        ctx.session, item, label=label, notes=notes, created_by_user_id=user.id
    )
    await ctx.record("link.created", item_id=item.id, link_id=link.id, label=link.label)
    if ctx.channels_by_name:
        hint = f"Post it as a button with {ctx.usage(f'post {link.id} #channel')}"
    else:
        hint = f"Post it as a button: send {ctx.usage(f'post {link.id}')} where it should appear"
    return LinkCreated(
        link_id=link.id,
        item_title=item.title,
        label=link.label,
        url=links.deep_link(ctx.public_url, links.token_for(ctx.signer, link)),
        post_hint=hint + "; people enrol by clicking it.",
    )


@command(
    "link list",
    "ITEM",
    "an item's links: id, label, status, uses, created",
    role=Role.ADMIN,
    doing="list links",
    examples=("link list safety-101",),
    least=1,
    needs="which item",
    most=1,
)
async def list_(ctx: CommandContext, args: Args) -> Notice:
    item = await catalog.get_item(ctx.session, ctx.organisation.id, args.words[0])
    found = await links.links_of(ctx.session, item)
    uses = await links.uses_of(ctx.session, [link.id for link in found])
    lines = []
    for link in found:
        label = link.label or ("default" if link.is_default else "no label")
        status = "active" if link.is_active else "deactivated"
        line = (
            f"{link.id} · {label} · {status} · {plural(uses[link.id], 'use')} · "
            f"created {link.created_at:%Y-%m-%d}"
        )
        if link.notes:
            line += f" · notes: {link.notes}"
        lines.append(line)
    return Notice(
        f"{item.title} ({item.kind.value}) has {plural(len(found), 'link')}:",
        lines=tuple(lines),
        heading=f"Links of {item.slug}",
    )


async def _switch(ctx: CommandContext, word: str, active: bool) -> Notice:
    link, item = await _link_and_item(ctx, word)
    name = link_name(link, item)
    if not links.set_active(link, active):
        state = "active" if active else "deactivated"
        return Notice(f"{name} is already {state}; nothing changed.")
    action = "link.activated" if active else "link.deactivated"
    await ctx.record(action, item_id=item.id, link_id=link.id)
    if active:
        return Notice(
            f"{name} is active again: its buttons and URLs enrol people once more.", Tone.SUCCESS
        )
    return Notice(
        f"{name} is deactivated: its buttons and URLs now say the link is disabled. "
        f"{ctx.usage(f'link activate {link.id}')} turns it back on.",
        Tone.SUCCESS,
    )


@command(
    "link deactivate",
    "LINK",
    "switch a link off: its buttons and URLs say it is disabled",
    role=Role.ADMIN,
    doing="deactivate links",
    aliases=("disable",),
    examples=("link deactivate 12",),
    least=1,
    needs="which link",
    most=1,
)
async def deactivate(ctx: CommandContext, args: Args) -> Notice:
    return await _switch(ctx, args.words[0], False)


@command(
    "link activate",
    "LINK",
    "switch a link back on: its old buttons and URLs work again",
    role=Role.ADMIN,
    doing="activate links",
    aliases=("reactivate", "enable"),
    examples=("link activate 12",),
    least=1,
    needs="which link",
    most=1,
)
async def activate(ctx: CommandContext, args: Args) -> Notice:
    return await _switch(ctx, args.words[0], True)


@command(
    "link delete",
    "LINK",
    "destroy a link for good (asks first without --yes)",
    role=Role.ADMIN,
    doing="delete links",
    options=(Option("yes"),),
    examples=("link delete 12",),
    least=1,
    needs="which link",
    most=1,
)
async def delete(ctx: CommandContext, args: Args) -> Reply:
    link, item = await _link_and_item(ctx, args.words[0])
    if args.flag("yes"):
        return await _delete(ctx, link, item)
    used = (await links.uses_of(ctx.session, [link.id]))[link.id]
    consequence = (
        f"Every Enrol button and URL made from it stops working for good "
        f"(it has been used {plural(used, 'time')}). This cannot be undone"
    )
    if link.is_default:
        consequence += f"; {item.title} gets a new default link"
    return ConfirmLinkDelete(link.id, f"Delete {link_name(link, item)}?", consequence + ".")


async def _delete(ctx: CommandContext, link: EnrolmentLink, item: CatalogItem) -> Notice:
    name = link_name(link, item)
    user = ctx.caller.user
    assert user is not None
    replacement = await links.delete_link(ctx.session, link, deleted_by_user_id=user.id)
    await ctx.record("link.deleted", item_id=item.id, link_id=link.id)
    text = f"{name} is deleted: its buttons and URLs will never work again."
    if replacement is not None:
        await ctx.record("link.created", item_id=item.id, link_id=replacement.id, default=True)
        text += f" {item.title}'s new default link is {replacement.id}."
    return Notice(text, Tone.SUCCESS)


async def submit_link_form(
    ctx: CommandContext, item_slug: str, label: str, notes: str
) -> Reply | FieldProblem:
    """The new-link form (a Slack modal, a Teams card) was sent."""

    async def work() -> Reply | FieldProblem:
        user = await authorise(ctx, registry.named("link create"))
        assert user is not None
        item = await catalog.get_item(ctx.session, ctx.organisation.id, item_slug)
        taken = await links.with_label(ctx.session, item, label)
        problem = label_problem(label, taken.id if taken else None, links.LABEL_MAX)
        if problem:
            return FieldProblem("label", problem)
        return await create_link_reply(ctx, item, label, notes, user)

    return await guarded(ctx, work)


async def confirm_link_delete(ctx: CommandContext, link: str) -> Reply:
    """The admin confirmed a deletion on the question `link delete` asked."""

    async def work() -> Reply:
        await authorise(ctx, registry.named("link delete"))
        return await _delete(ctx, *await _link_and_item(ctx, link))

    return await guarded(ctx, work)
