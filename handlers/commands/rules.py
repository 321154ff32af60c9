"""rule create | preview | list | show | pause | resume | delete: automatic enrolment, for
admins on both platforms (handlers.rules holds the engine; handlers.rules.wording the words).

A saved rule is evaluated by the follower (handlers.rules.follow) within a second of the
answer; the answer says how many that will enrol, from the same counts `rule preview` gives.
"""

from __future__ import annotations

from sqlalchemy import func, select

from handlers import catalog
from handlers.commands.context import CommandContext, CommandError
from handlers.commands.groups import count_people
from handlers.commands.parsing import unexpected
from handlers.commands.registry import Args, Role, command, noun
from handlers.commands.rule_options import OPTIONS, criteria_of, terms_of
from handlers.replies import AskRuleDetails, Notice, Tone, echo, plural
from handlers.rules import saved, wording
from handlers.rules.preview import Preview, preview
from handlers.rules.saved import Loaded
from handlers.rules.schedule import first_period
from store.models import CatalogItem, Enrolment, EnrolmentRule, EnrolmentStatus, utcnow

noun(
    "rule",
    aliases=("rules",),
    missing="`rule` needs what to do: {verbs}. {help} shows how.",
    unknown="I don't know `rule {word}`; use {verbs}. {help} shows how.",
)

DOING = "manage automatic enrolment"
WHICH = "which rule (its number, as rule list shows it)"  # what a rule command without one asks
_LARGEST_ID = 2**31 - 1
CREATE_USAGE = "rule create ITEM --everyone | --group GROUP | --where FIELD=VALUE ..."


def _counts(p: Preview) -> str:
    return (
        f"{count_people(p.enrolled)} already enrolled, {p.completed} completed"
        if p.enrolled or p.completed
        else "no one enrolled or completed yet"
    )


def _match(n: int) -> str:
    return "1 person matches" if n == 1 else f"{n} people match"


async def _read(ctx: CommandContext, args: Args):
    item = await catalog.get_item(ctx.session, ctx.organisation.id, args.words[0])
    terms, rest = terms_of(args)
    if rest:
        unexpected(rest[0], ctx.usage(CREATE_USAGE))
    criteria = await criteria_of(ctx, args)
    return item, criteria, terms


async def _preview(ctx: CommandContext, item: CatalogItem, criteria, terms) -> Preview:
    probe = EnrolmentRule(**terms.__dict__)  # the period a rule saved now would use
    period = first_period(probe, utcnow()).key
    return await preview(ctx.session, item.id, criteria, period, new_only=terms.new_only)


@command(
    "rule create",
    "ITEM",
    "enrol everyone who matches in ITEM, now and whenever someone comes to match",
    role=Role.ADMIN,
    doing=DOING,
    options=OPTIONS,
    aliases=("new",),
    examples=(
        "rule create safety-101 --everyone --required --due-within 30",
        "rule create gdpr --group department:Sales --due-each-year 10-01 --recur annual "
        "--enrol-days-before 60",
        "rule create onboarding --hired-after 2026-01-01 --where company=Acme --new-only",
    ),
    most=None,
)
async def create(ctx: CommandContext, args: Args) -> Notice | AskRuleDetails:
    if len(args.words) == 1 and not args.options:
        item = await catalog.get_item(ctx.session, ctx.organisation.id, args.words[0])
        return AskRuleDetails(item.slug, item.title)
    if not args.words:
        raise CommandError(
            f"Tell me the item and who: {ctx.usage(CREATE_USAGE)}. "
            f"{ctx.usage('help rule create')} lists every option."
        )
    item, criteria, terms = await _read(ctx, args)
    counts = await _preview(ctx, item, criteria, terms)
    user = ctx.caller.user
    rule = await saved.create_rule(
        ctx.session,
        item,
        criteria,
        terms,
        created_by=str(ctx.account),
        created_by_user_id=user.id if user else None,
    )
    await ctx.record("rule.created", item_id=item.id, rule_id=rule.id)
    who = await wording.who(ctx.session, criteria)
    if terms.new_only:
        now = (
            f"It enrols no one now ({_match(counts.matching)} already); "
            "people who come to match from now on are enrolled as they do."
        )
    else:
        now = (
            f"Enrolling {count_people(counts.new)} now ({_counts(counts)}); "
            "anyone who comes to match later is enrolled within a second."
        )
    return Notice(
        f"Rule {rule.id} saved: {echo(item.title)} for {who}, {wording.terms(terms)}. {now}",
        Tone.SUCCESS,
    )


@command(
    "rule preview",
    "ITEM",
    "who a rule would enrol, before saving it (same options as rule create)",
    role=Role.ADMIN,
    doing=DOING,
    options=OPTIONS,
    examples=("rule preview safety-101 --group department:Sales",),
    least=1,
    needs="which item",
    most=None,
)
async def preview_(ctx: CommandContext, args: Args) -> Notice:
    item, criteria, terms = await _read(ctx, args)
    counts = await _preview(ctx, item, criteria, terms)
    who = await wording.who(ctx.session, criteria)
    if terms.new_only:
        text = (
            f"A rule for {who} would enrol no one in {echo(item.title)} now: "
            f"{_match(counts.matching)} already, and only people who come to "
            "match later would be enrolled."
        )
    else:
        text = (
            f"A rule for {who} would enrol {count_people(counts.new)} in "
            f"{echo(item.title)} now; {_counts(counts)}."
        )
    more = counts.new - len(counts.names)
    lines = (*counts.names, *((f"… and {more} more",) if more > 0 else ()))
    return Notice(text, lines=lines, heading="Rule preview")


async def _rule(ctx: CommandContext, word: str) -> Loaded:
    if not word.isdigit() or int(word) > _LARGEST_ID:
        raise CommandError(
            f"`{echo(word)}` isn't a rule's number. {ctx.usage('rule list')} shows the rules, "
            "each line starting with its number."
        )
    found = await saved.get_rule(ctx.session, ctx.organisation.id, int(word))
    if found is None or found.rule.deleted_at is not None:
        raise CommandError(f"There is no rule {int(word)}. {ctx.usage('rule list')} shows them.")
    return found


async def _enrolled_by(ctx: CommandContext, rule_ids: list[int]) -> dict[int, int]:
    if not rule_ids:
        return {}
    rows = await ctx.session.execute(
        select(Enrolment.rule_id, func.count())
        .where(Enrolment.rule_id.in_(rule_ids), Enrolment.status != EnrolmentStatus.WITHDRAWN)
        .group_by(Enrolment.rule_id)
    )
    return {r: n for r, n in rows}


@command(
    "rule list",
    "[ITEM]",
    "the automatic enrolment rules, of one item or all",
    role=Role.ADMIN,
    doing=DOING,
    examples=("rule list", "rule list safety-101"),
    most=1,
)
async def list_(ctx: CommandContext, args: Args) -> Notice:
    item_id = None
    if args.words:
        item_id = (await catalog.get_item(ctx.session, ctx.organisation.id, args.words[0])).id
    rules = await saved.load(
        ctx.session, organisation_id=ctx.organisation.id, item_id=item_id, active_only=False
    )
    if not rules:
        return Notice(f"There are no rules yet: {ctx.usage('rule create ITEM ...')} makes one.")
    items = {
        i.id: i.slug
        for i in (
            await ctx.session.execute(
                select(CatalogItem).where(CatalogItem.id.in_({r.rule.item_id for r in rules}))
            )
        ).scalars()
    }
    counts = await _enrolled_by(ctx, [r.rule.id for r in rules])
    lines = []
    for r in rules:
        who = await wording.who(ctx.session, r.criteria)
        lines.append(
            f"{r.rule.id} · {items[r.rule.item_id]} · {who} · "
            f"{wording.terms(wording.terms_of(r.rule))} · {wording.state(r.rule)} · "
            f"{plural(counts.get(r.rule.id, 0), 'enrolment')}"
        )
    return Notice(f"{plural(len(lines), 'rule')}:", lines=tuple(lines), heading="Rules")


@command(
    "rule show",
    "RULE",
    "what a rule says, whom it enrolled, and who made it",
    role=Role.ADMIN,
    doing=DOING,
    examples=("rule show 4",),
    least=1,
    needs=WHICH,
    most=1,
)
async def show(ctx: CommandContext, args: Args) -> Notice:
    loaded = await _rule(ctx, args.words[0])
    rule = loaded.rule
    item = await ctx.session.get(CatalogItem, rule.item_id)
    assert item is not None
    counts = await _enrolled_by(ctx, [rule.id])
    lines = (
        f"Item: {echo(item.title)} ({item.slug})",
        f"Who: {await wording.who(ctx.session, loaded.criteria)}",
        f"Terms: {wording.terms(wording.terms_of(rule))}",
        f"State: {wording.state(rule)}",
        f"Enrolled by it: {counts.get(rule.id, 0)}",
        f"Made by {echo(rule.created_by)} on {wording.day(rule.created_at.date())}",
    )
    return Notice(f"Rule {rule.id}:", lines=lines, heading=f"Rule {rule.id}")


@command(
    "rule pause",
    "RULE",
    "stop a rule enrolling anyone (what it enrolled stays)",
    role=Role.ADMIN,
    doing=DOING,
    examples=("rule pause 4",),
    least=1,
    needs=WHICH,
    most=1,
)
async def pause(ctx: CommandContext, args: Args) -> Notice:
    loaded = await _rule(ctx, args.words[0])
    if not await saved.pause(ctx.session, loaded.rule):
        return Notice(f"Rule {loaded.rule.id} is paused already; nothing changed.")
    await ctx.record("rule.paused", item_id=loaded.rule.item_id, rule_id=loaded.rule.id)
    return Notice(
        f"Rule {loaded.rule.id} is paused: it enrols no one until `rule resume "
        f"{loaded.rule.id}`; what it enrolled stays.",
        Tone.SUCCESS,
    )


@command(
    "rule resume",
    "RULE",
    "start a paused rule again, enrolling whoever came to match meanwhile",
    role=Role.ADMIN,
    doing=DOING,
    examples=("rule resume 4",),
    least=1,
    needs=WHICH,
    most=1,
)
async def resume(ctx: CommandContext, args: Args) -> Notice:
    loaded = await _rule(ctx, args.words[0])
    if not await saved.resume(ctx.session, loaded.rule):
        return Notice(f"Rule {loaded.rule.id} isn't paused; nothing changed.")
    await ctx.record("rule.resumed", item_id=loaded.rule.item_id, rule_id=loaded.rule.id)
    return Notice(
        f"Rule {loaded.rule.id} is running again: whoever matches and isn't enrolled is "
        "enrolled now.",
        Tone.SUCCESS,
    )


@command(
    "rule delete",
    "RULE",
    "stop a rule for good (what it enrolled stays)",
    role=Role.ADMIN,
    doing=DOING,
    examples=("rule delete 4",),
    least=1,
    needs=WHICH,
    most=1,
)
async def delete(ctx: CommandContext, args: Args) -> Notice:
    loaded = await _rule(ctx, args.words[0])
    await saved.delete(ctx.session, loaded.rule)
    await ctx.record("rule.deleted", item_id=loaded.rule.item_id, rule_id=loaded.rule.id)
    return Notice(
        f"Rule {loaded.rule.id} is deleted: it enrols no one from now on; the enrolments it "
        "made stay, with their progress.",
        Tone.SUCCESS,
    )
