"""Turning typed words into what a command declared: positional words, options, ids, channels."""

from __future__ import annotations

import re
import shlex

from handlers import links, tokens
from handlers.commands.context import CommandContext, CommandError
from handlers.commands.registry import Args, Command
from handlers.replies import echo
from store.models import CatalogItem, RegistrationToken

# Chat clients turn straight quotes into curly ones; people mean the straight kind. A lone ’ is
# an apostrophe (Bob’s), so curly single quotes count only when an opening one is there too.
_DOUBLE_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"'})
_SINGLE_QUOTES = str.maketrans({"‘": "'", "’": "'"})
# Slack sends a picked channel as <#C123|name>; a typed #name is passed on for the platform.
CHANNEL = re.compile(r"^<#([A-Z0-9]+)(?:\|([^>]*))?>$|^#([\w.-]+)$")
MENTION = re.compile(r"^<@([^>|\s]+)(?:\|[^>]*)?>$")  # Slack user ids, Entra object ids
LINK_ID = re.compile(r"^[0-9]{1,18}$")
_LARGEST_ID = 2**31 - 1  # the id column's range on PostgreSQL


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


def parse(ctx: CommandContext, command: Command, words: list[str]) -> Args:
    """The words after a command's name, checked against its declaration."""
    usage = ctx.usage(command.form(ctx.channels_by_name))
    takes_value = {o.name for o in command.options if o.value}
    many = {o.name for o in command.options if o.many}
    flags = {o.name for o in command.options if not o.value}
    positional: list[str] = []
    found: dict[str, str | bool | list[str]] = {}
    rest = iter(words)
    for word in rest:
        if not word.startswith("--"):
            positional.append(word)
            continue
        name, eq, value = word[2:].partition("=")
        if name in flags and not eq:
            found[name] = True
        elif name in takes_value:
            if not eq:
                value = next(rest, None)  # type: ignore[assignment]
                if value is None:
                    raise CommandError(f"--{name} needs a value: {usage}.")
            if name in many:
                found.setdefault(name, []).append(value)  # type: ignore[union-attr]
            else:
                found[name] = value
        else:
            known = sorted(f"--{o}" for o in takes_value | flags)
            takes = f"it takes {', '.join(known)}" if known else "it takes no options"
            raise CommandError(f"I don't know the option --{echo(name)} here; {takes}: {usage}.")
    if len(positional) < command.least:
        raise CommandError(f"Tell me {command.needs}: {usage}.")
    if command.most is not None and len(positional) > command.most:
        unexpected(positional[command.most], usage)
    return Args(positional, found)


def unexpected(word: str, usage: str) -> None:
    raise CommandError(
        f"I didn't expect `{echo(word)}` there: {usage}. Put quotes around text with spaces."
    )


def link_id(word: str, ctx: CommandContext) -> int:
    if not LINK_ID.match(word):
        raise CommandError(
            f"`{echo(word)}` isn't a link id. {ctx.usage('link list ITEM')} shows an item's "
            "links, each line starting with its id."
        )
    if int(word) > _LARGEST_ID:
        raise links.LinkError(f"There is no link {word}.")
    return int(word)


async def token_and_item(ctx: CommandContext, word: str) -> tuple[RegistrationToken, CatalogItem]:
    """The token named by its short id (t12) or by its code."""
    match = tokens.REF.match(word)
    if match:
        token = await tokens.get_token(ctx.session, ctx.organisation.id, int(match.group(1)))
    elif tokens.normalise(word):
        check = await tokens.check_code(ctx.session, ctx.signer, word, ctx.organisation.id)
        if check.token is None:
            raise CommandError(
                "No token has that code (a deleted token's code matches nothing). "
                f"{ctx.usage('token list ITEM')} shows an item's tokens."
            )
        token = check.token
    else:
        raise CommandError(
            f"`{echo(word)}` isn't a token. Name it by its id as "
            f"{ctx.usage('token list ITEM')} shows it (t12), or by its code."
        )
    item = await ctx.session.get(CatalogItem, token.item_id)
    assert item is not None
    return token, item
