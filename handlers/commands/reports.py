"""report: an item's enrolments counted by user type and by way in, with the CSV attached."""

from __future__ import annotations

from handlers import catalog, reports
from handlers.commands.context import CommandContext, CommandError
from handlers.commands.registry import Args, Option, Role, command
from handlers.replies import ReportReady


@command(
    "report",
    "ITEM",
    "an item's enrolments by user type and by source, with the CSV",
    role=Role.ADMIN,
    doing="see reports",
    options=(Option("type", "T"), Option("since", "DATE")),
    examples=("report safety-101", "report safety-101 --type prospect --since 2026-09-01"),
    least=1,
    needs="which item",
    most=1,
)
async def report(ctx: CommandContext, args: Args) -> ReportReady:
    try:
        wanted = reports.filters(args.value("type"), args.value("since"))
    except reports.ReportError as exc:
        raise CommandError(str(exc)) from None
    item = await catalog.get_item(ctx.session, ctx.organisation.id, args.words[0])
    made = await reports.make_report(ctx.session, item, wanted)
    await ctx.record(
        "report.made",
        item_id=item.id,
        type=wanted.user_type.value if wanted.user_type else None,
        since=wanted.since.isoformat() if wanted.since else None,
        rows=made.total,
    )
    assert ctx.caller.user is not None  # an admin is a portal user
    return ReportReady(reports.summary(made), made, ctx.caller.user.id)
