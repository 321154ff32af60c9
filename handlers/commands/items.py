"""items: the catalog, searched by slug or title."""

from __future__ import annotations

from handlers import catalog, links
from handlers.commands.context import CommandContext
from handlers.commands.registry import Args, Role, command
from handlers.replies import Notice, echo, plural

ITEMS_SHOWN = 50


@command(
    "items",
    "[QUERY]",
    "topics, articles and pathways, with their slugs",
    role=Role.ADMIN,
    doing="list the catalog",
    examples=("items", "items safety"),
)
async def items(ctx: CommandContext, args: Args) -> Notice:
    query = " ".join(args.words).strip() or None
    found, total = await catalog.search_items(ctx.session, ctx.organisation.id, query, ITEMS_SHOWN)
    shown = echo(query or "", 80)
    if not found:
        if query:
            return Notice(f"No item's slug or title contains “{shown}”.")
        return Notice("The catalog is empty. Import items with `enrolbot catalog import FILE.csv`.")
    counts = await links.live_links_per_item(ctx.session, [i.id for i in found])
    lines = [
        f"`{i.slug}` · {i.kind.value} · {i.title} · {plural(counts[i.id], 'link')}" for i in found
    ]
    if total > len(found):
        lines.append(
            f"… and {total - len(found)} more: narrow it down with {ctx.usage('items QUERY')}."
        )
    heading = f"Items matching “{shown}”" if query else "Items"
    return Notice(f"{plural(total, 'item')}:", lines=tuple(lines), heading=heading)
