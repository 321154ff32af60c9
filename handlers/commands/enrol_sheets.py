"""enrol template|import|imports: enrolling people from a spreadsheet (seed 002). The template
is a file for the platform to hand over; `enrol import` asks for the filled file (a Slack modal;
in Teams the file is sent in the personal chat); the preview and the import are in
handlers.enrol_import, reached from the platforms through bot.enrol_imports."""

from __future__ import annotations

import asyncio

from handlers import catalog, enrol_import_start
from handlers.commands.context import CommandContext
from handlers.commands.registry import Args, Role, command
from handlers.enrol_import_text import (
    TEAMS_SEND_FILE,
    AskForImportFile,
    TemplateReady,
    past_notice,
    template_summary,
)
from handlers.enrol_sheet import template, template_name
from handlers.replies import Notice

MAX_ITEMS = 50  # columns a template takes


@command(
    "enrol template",
    "ITEMS...",
    "an .xlsx to fill in: a column of emails, and an x under each item to enrol",
    role=Role.MANAGER,
    doing="enrol people from a spreadsheet",
    examples=("enrol template fire-safety gdpr",),
    least=1,
    needs="which items (slugs)",
    most=MAX_ITEMS,
)
async def enrol_template(ctx: CommandContext, args: Args) -> TemplateReady:
    slugs = list(dict.fromkeys(w.lower() for w in args.words))
    items = [await catalog.get_item(ctx.session, ctx.organisation.id, s) for s in slugs]
    content = await asyncio.to_thread(template, items)
    await ctx.record("enrol.template", items=[i.id for i in items])
    summary = template_summary([i.title for i in items])
    return TemplateReady(summary, template_name(items), content, tuple(i.slug for i in items))


@command(
    "enrol import",
    "",
    "preview a filled template, then Start import: each person enrolled is told (managers: "
    "only their direct reports)",
    role=Role.MANAGER,
    doing="enrol people from a spreadsheet",
    most=0,
)
async def enrol_import_file(ctx: CommandContext, args: Args) -> AskForImportFile:
    return AskForImportFile(Notice(TEAMS_SEND_FILE))


@command(
    "enrol imports",
    "",
    "past spreadsheet imports: who ran them, when, and their counts",
    role=Role.ADMIN,
    doing="see spreadsheet imports",
    most=0,
)
async def enrol_imports(ctx: CommandContext, args: Args) -> Notice:
    return past_notice(await enrol_import_start.past(ctx.session, ctx.organisation.id))
