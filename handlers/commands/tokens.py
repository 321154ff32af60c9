"""token create | list | deactivate | activate | delete | import: self-registration tokens for
outsiders (handlers.tokens holds the rules)."""

from __future__ import annotations

from handlers import catalog, tokens
from handlers.commands import registry
from handlers.commands.context import CommandContext, CommandError
from handlers.commands.dispatch import authorise, guarded
from handlers.commands.parsing import token_and_item
from handlers.commands.registry import Args, Option, Role, command, noun
from handlers.replies import ConfirmTokenDelete, Notice, Reply, Tone, plural
from store.models import CatalogItem, ItemSource, RegistrationToken

noun(
    "token",
    aliases=("tokens",),
    missing="`token` needs what to do: {verbs}. {help} shows how.",
    unknown="I don't know `token {word}`; use {verbs}. {help} shows how.",
)

IMPORT_COLUMNS = "item,nickname,status"


def token_name(token: RegistrationToken, item: CatalogItem) -> str:
    nickname = token.nickname or "no nickname"
    return f"Token {tokens.ref(token)} ({item.title}, {nickname})"


@command(
    "token create",
    "ITEM",
    "a self-registration token for outsiders: a code and a link, shown once",
    role=Role.ADMIN,
    doing="create registration tokens",
    options=(Option("nickname", "TEXT"),),
    aliases=("new",),
    examples=('token create safety-101 --nickname "Spring fair"',),
    least=1,
    needs="which item",
    most=1,
)
async def create(ctx: CommandContext, args: Args) -> Notice:
    item = await catalog.get_item(ctx.session, ctx.organisation.id, args.words[0])
    tokens.ensure_own(item)
    nickname = tokens.clean_nickname(args.value("nickname"))
    if nickname:
        taken = await tokens.with_nickname(ctx.session, item, nickname)
        if taken is not None:
            raise CommandError(
                f"Token {tokens.ref(taken)} already has the nickname “{nickname}”; choose another."
            )
    user = ctx.caller.user
    assert user is not None
    token, code = await tokens.create_token(
        ctx.session, ctx.signer, item, nickname=nickname, created_by_user_id=user.id
    )
    await ctx.record("token.created", item_id=item.id, token_id=token.id, nickname=token.nickname)
    return Notice(
        f"{token_name(token, item)} is ready. Its code is {tokens.shown(code)}: "
        "copy it now, it is shown only this once.",
        Tone.SUCCESS,
        lines=(
            f"Registration link (fills the code in): {tokens.register_url(ctx.public_url, code)}",
            f"Share the link, or the code with {ctx.public_url}/register: people outside the "
            f"organisation register there and are enrolled in {item.title}.",
            f"{ctx.usage(f'token list {item.slug}')} shows its uses; "
            f"{ctx.usage(f'token deactivate {tokens.ref(token)}')} pauses it.",
        ),
    )


@command(
    "token list",
    "ITEM",
    "an item's tokens: id, nickname, status, uses, created",
    role=Role.ADMIN,
    doing="list registration tokens",
    examples=("token list safety-101",),
    least=1,
    needs="which item",
    most=1,
)
async def list_(ctx: CommandContext, args: Args) -> Notice:
    item = await catalog.get_item(ctx.session, ctx.organisation.id, args.words[0])
    found = await tokens.tokens_of(ctx.session, item)
    if not found:
        hint = (
            f"{ctx.usage(f'token create {item.slug}')} makes one."
            if item.source is ItemSource.OWN
            else "Library items cannot have tokens."
        )
        return Notice(f"{item.title} has no registration tokens. {hint}")
    uses = await tokens.uses_of(ctx.session, [t.id for t in found])
    lines = tuple(
        f"{tokens.ref(t)} · {t.nickname or 'no nickname'} · "
        f"{'active' if t.is_active else 'deactivated'} · {plural(uses[t.id], 'use')} · "
        f"created {t.created_at:%Y-%m-%d}"
        for t in found
    )
    return Notice(
        f"{item.title} ({item.kind.value}) has {plural(len(found), 'registration token')} "
        "(codes are shown only when a token is made):",
        lines=lines,
        heading=f"Tokens of {item.slug}",
    )


async def _switch(ctx: CommandContext, word: str, active: bool) -> Notice:
    token, item = await token_and_item(ctx, word)
    name = token_name(token, item)
    if not tokens.set_active(token, active):
        state = "active" if active else "deactivated"
        return Notice(f"{name} is already {state}; nothing changed.")
    await ctx.record(
        "token.activated" if active else "token.deactivated", item_id=item.id, token_id=token.id
    )
    if active:
        return Notice(
            f"{name} is active again: its code and link register people once more.", Tone.SUCCESS
        )
    return Notice(
        f"{name} is deactivated: people who use its code are told it is currently disabled. "
        f"{ctx.usage(f'token activate {tokens.ref(token)}')} turns it back on.",
        Tone.SUCCESS,
    )


@command(
    "token deactivate",
    "TOKEN",
    "pause a token: its code says it is currently disabled",
    role=Role.ADMIN,
    doing="deactivate registration tokens",
    aliases=("disable",),
    examples=("token deactivate t12",),
    least=1,
    needs="which token",
    most=1,
)
async def deactivate(ctx: CommandContext, args: Args) -> Notice:
    return await _switch(ctx, args.words[0], False)


@command(
    "token activate",
    "TOKEN",
    "switch a token back on: its code and link work again",
    role=Role.ADMIN,
    doing="activate registration tokens",
    aliases=("reactivate", "enable"),
    examples=("token activate t12",),
    least=1,
    needs="which token",
    most=1,
)
async def activate(ctx: CommandContext, args: Args) -> Notice:
    return await _switch(ctx, args.words[0], True)


@command(
    "token delete",
    "TOKEN",
    "destroy a token for good (asks first without --yes)",
    role=Role.ADMIN,
    doing="delete registration tokens",
    options=(Option("yes"),),
    examples=("token delete t12 --yes",),
    least=1,
    needs="which token",
    most=1,
)
async def delete(ctx: CommandContext, args: Args) -> Reply:
    token, item = await token_and_item(ctx, args.words[0])
    if args.flag("yes"):
        return await _delete(ctx, token, item)
    used = (await tokens.uses_of(ctx.session, [token.id]))[token.id]
    return ConfirmTokenDelete(
        tokens.ref(token),
        f"Delete {token_name(token, item)}?",
        f"Its code and link stop working for good (it has been used {plural(used, 'time')}), "
        "and it cannot be recovered; the people it enrolled stay enrolled. To pause it instead: "
        f"{ctx.usage(f'token deactivate {tokens.ref(token)}')}.",
    )


async def _delete(ctx: CommandContext, token: RegistrationToken, item: CatalogItem) -> Notice:
    name = token_name(token, item)
    user = ctx.caller.user
    assert user is not None
    await tokens.delete_token(ctx.session, token, deleted_by_user_id=user.id)
    await ctx.record("token.deleted", item_id=item.id, token_id=token.id)
    return Notice(f"{name} is deleted: its code and link will never work again.", Tone.SUCCESS)


async def confirm_token_delete(ctx: CommandContext, token_ref: str) -> Reply:
    """The admin confirmed a deletion on the question `token delete` asked."""

    async def work() -> Reply:
        await authorise(ctx, registry.named("token delete"))
        return await _delete(ctx, *await token_and_item(ctx, token_ref))

    return await guarded(ctx, work)


@command(
    "token import",
    "",
    "create or update many tokens from a spreadsheet (on the command line)",
    role=Role.ADMIN,
    doing="import registration tokens",
    examples=("token import",),
    most=0,
)
async def import_(ctx: CommandContext, args: Args) -> Notice:
    # The new codes are shown once; a chat message is no place to hand out a file of them.
    return Notice(
        "Tokens are imported on the command line of the enrolbot server, where the new codes "
        "can be saved to a file: `enrolbot tokens import FILE --out codes.csv` (FILE is .csv "
        f"or .xlsx with the columns {IMPORT_COLUMNS}; status is active or deactivated). It "
        "shows what it will do and asks before changing anything; a wrong row changes nothing "
        "and is named by its line.",
        lines=(f"For one token: {ctx.usage('token create ITEM --nickname TEXT')}.",),
    )
