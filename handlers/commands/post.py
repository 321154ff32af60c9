"""post: an Enrol button message, for the adapter to post; audited once the post succeeded."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import audit, catalog, links, tokens
from handlers.commands import registry
from handlers.commands.context import CommandContext, CommandError
from handlers.commands.links import link_name
from handlers.commands.parsing import CHANNEL, LINK_ID, link_id, token_and_item
from handlers.commands.registry import Args, Option, Role, command
from handlers.replies import POST_HERE_ONLY, EnrolButton, PostedBy, echo
from handlers.signing import RegistrationRef, RegistrationRefSigner
from store.models import CatalogItem


@command(
    "post",
    "ITEM|LINK",
    "post an Enrol button (default: the item's default link, in {here}); with --token, guests "
    "and other organisations' people register through it",
    role=Role.ADMIN,
    doing="post Enrol buttons",
    channel=True,
    options=(Option("token", "TOKEN"),),
    examples=("post safety-101", "post 12 #ops", "post safety-101 --token t3"),
    least=1,
    needs="what to post",
    most=2,
)
async def post(ctx: CommandContext, args: Args) -> EnrolButton:
    usage = ctx.usage(registry.named("post").form(ctx.channels_by_name))
    channel = channel_name = None
    if len(args.words) == 2:
        if not ctx.channels_by_name:
            raise CommandError(POST_HERE_ONLY.text)
        match = CHANNEL.match(args.words[1])
        if match is None:
            raise CommandError(f"`{echo(args.words[1])}` isn't a channel: {usage}, e.g. #ops.")
        channel_id, picked_name, typed_name = match.groups()
        channel = channel_id or f"#{typed_name}"
        channel_name = picked_name or typed_name
    target = args.words[0]
    if LINK_ID.match(target):
        link = await links.get_link(ctx.session, ctx.organisation.id, link_id(target, ctx))
        item = await ctx.session.get(CatalogItem, link.item_id)
        assert item is not None
    else:
        item = await catalog.get_item(ctx.session, ctx.organisation.id, target)
        link = await links.default_link(ctx.session, item)
    if not link.is_active:
        raise CommandError(
            f"{link_name(link, item)} is deactivated, so its button would refuse everyone. "
            f"Turn it on first: {ctx.usage(f'link activate {link.id}')}."
        )
    registration, token_name = await _registration(ctx, args.value("token"), item)
    return EnrolButton(
        channel=channel,
        channel_name=channel_name,
        link_id=link.id,
        token=links.token_for(ctx.signer, link),
        title=item.title,
        kind=item.kind.value,
        url=item.url,
        label=link.label,
        posted_by=PostedBy(
            ctx.organisation.id,
            item.id,
            str(ctx.account),
            ctx.caller.user.id if ctx.caller.user else None,
        ),
        registration=registration,
        token_name=token_name,
    )


async def _registration(
    ctx: CommandContext, word: str | None, item: CatalogItem
) -> tuple[str | None, str | None]:
    """The signed reference to the token named with --token (never its code: the button's
    value is readable by anyone who sees the message's payload), and how the answer names it."""
    if word is None:
        return None, None
    token, token_item = await token_and_item(ctx, word)
    ref = tokens.ref(token)
    if token_item.id != item.id:
        raise CommandError(
            f"Token {ref} is for {token_item.title}, not {item.title}: post it with "
            f"{ctx.usage(f'post {token_item.slug} --token {ref}')}."
        )
    if not token.is_active:
        raise CommandError(
            f"Token {ref} is deactivated, so its button would tell everyone it is disabled. "
            f"Turn it on first: {ctx.usage(f'token activate {ref}')}."
        )
    signer = RegistrationRefSigner.beside(ctx.signer)
    signed = signer.sign(RegistrationRef(ctx.organisation.id, token.id))
    name = f"{ref} “{token.nickname}”" if token.nickname else ref
    return signed, name


async def record_posted(session: AsyncSession, button: EnrolButton, channel: str | None) -> None:
    """Audit a post once the platform has taken it, so a failed post never reads as posted.
    `channel` is where it went (the platform's id)."""
    who = button.posted_by
    if who is None:
        return
    await audit.record(
        session,
        organisation_id=who.organisation_id,
        action="link.posted",
        actor=who.actor,
        actor_user_id=who.actor_user_id,
        item_id=who.item_id,
        link_id=button.link_id,
        channel=channel,
    )
