"""team [ITEMS...]: a manager's direct reports and their enrolments, overdue first, then due
soon, then the rest (seed 002's "My Team"). Managers, and admins who manage someone."""

from __future__ import annotations

from handlers import catalog
from handlers.commands import enrol_words
from handlers.commands.context import CommandContext
from handlers.commands.enrolment_view import team_of
from handlers.commands.registry import Args, Role, command
from handlers.replies import Notice


@command(
    "team",
    "[ITEMS...]",
    "your direct reports and their enrolments (only these items when given), overdue first",
    role=Role.MANAGER,
    doing="see a team's enrolments",
    examples=("team", "team safety-101 gdpr-basics"),
)
async def team(ctx: CommandContext, args: Args) -> Notice:
    items = {}
    for slug in args.words:
        item = await catalog.get_item(ctx.session, ctx.organisation.id, slug)
        items[item.id] = item
    me = ctx.caller.user
    people, lines = (0, []) if me is None else await team_of(ctx.session, me, list(items.values()))
    if not people:
        return Notice(enrol_words.NO_TEAM.format(list=ctx.usage("enrol list PERSON")))
    heading = enrol_words.team_heading(people, list(items.values()))
    return Notice(heading, lines=tuple(lines), heading="Your team")
