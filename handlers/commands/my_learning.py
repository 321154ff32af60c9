"""my learning (mine): anyone's own enrolments, overdue first, as a private reply; and
item feature|unfeature ITEM: the self-enrolment items My learning offers (admins)."""

from __future__ import annotations

from handlers import catalog
from handlers.commands.context import CommandContext, CommandError
from handlers.commands.registry import Args, Role, alias, command, noun
from handlers.my_learning import feature, my_learning
from handlers.my_learning_words import NOT_KNOWN
from handlers.replies import MyLearningReply, Notice, Tone, echo

noun(
    "item",
    missing="`item` needs what to do: {verbs}. {help} shows how.",
    unknown="I don't know `item {word}`; use {verbs}. {help} shows how.",
)


@command(
    "my learning",
    "",
    "your enrolments, overdue first, then due soon; your completions; featured items to enrol in",
    role=Role.ANYONE,
    examples=("my learning", "mine"),
    most=0,
)
async def my_learning_(ctx: CommandContext, args: Args) -> MyLearningReply | Notice:
    me = ctx.caller.user
    if me is None:
        raise CommandError(NOT_KNOWN)
    view = await my_learning(ctx.session, me, signer=ctx.signer, public_url=ctx.public_url)
    return MyLearningReply(view)


alias("mine", "my learning")


async def _featured(ctx: CommandContext, args: Args, on: bool) -> Notice:
    item = await catalog.get_item(ctx.session, ctx.organisation.id, args.words[0])
    changed = await feature(ctx.session, item, on)
    title = echo(item.title)
    if not changed:
        state = "already featured" if on else "not featured"
        return Notice(f"{title} is {state}; nothing changed.")
    await ctx.record("item.featured" if on else "item.unfeatured", item_id=item.id)
    if on:
        return Notice(
            f"{title} is featured: everyone sees it in My learning with an Enrol button.",
            Tone.SUCCESS,
        )
    return Notice(f"{title} is no longer featured in My learning.", Tone.SUCCESS)


@command(
    "item feature",
    "ITEM",
    "offer ITEM to everyone in My learning, with an Enrol button",
    role=Role.ADMIN,
    doing="feature items",
    examples=("item feature safety-101",),
    least=1,
    needs="which item",
    most=1,
)
async def feature_(ctx: CommandContext, args: Args) -> Notice:
    return await _featured(ctx, args, True)


@command(
    "item unfeature",
    "ITEM",
    "stop offering ITEM in My learning",
    role=Role.ADMIN,
    doing="feature items",
    examples=("item unfeature safety-101",),
    least=1,
    needs="which item",
    most=1,
)
async def unfeature_(ctx: CommandContext, args: Args) -> Notice:
    return await _featured(ctx, args, False)
