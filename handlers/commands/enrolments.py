"""enrol add | withdraw | list: enrolling others by hand (issue 15, seed 002's manual enrolment
and "My Team"). Admins act on anyone; a manager only on their own direct reports
(handlers.commands.audience); `enrol list` also shows anyone their own. The work is
handlers.byhand's; the sentences are enrol_words'."""

from __future__ import annotations

from datetime import timedelta

from handlers import byhand, catalog
from handlers.commands import audience, enrol_words
from handlers.commands.context import CommandContext, CommandError
from handlers.commands.enrolment_view import enrolments_of
from handlers.commands.groups import group_named
from handlers.commands.persons import names_a_person, people_named, person_named
from handlers.commands.registry import Args, Option, Role, command, noun
from handlers.commands.rule_options import REASON_MAX, days, strict_date
from handlers.enrol import Placement
from handlers.replies import Notice, Tone, echo
from handlers.rules.schedule import midnight
from handlers.withdrawals import WithdrawOutcome
from store.models import CatalogItem, User, utcnow

noun(
    "enrol",
    aliases=("enrolment", "enrolments"),
    missing="`enrol` needs what to do: {verbs}. {help} shows how.",
    unknown="I don't know `enrol {word}`; use {verbs}. {help} shows how.",
)

DOING = "enrol other people"
MAX_ITEMS = 20


def _terms(args: Args) -> Placement:
    """--required (the default) or --recommended, --due-within DAYS or --due-on DATE, --reason."""
    for pair in (("required", "recommended"), ("due-within", "due-on")):
        if all(args.options.get(n) for n in pair):
            raise CommandError(enrol_words.ONE_OF.format(*pair))
    due = None
    if args.value("due-within") is not None:
        within = days("due-within", args.value("due-within")) or 0
        due = midnight(utcnow().date() + timedelta(days=within))
    elif args.value("due-on") is not None:
        on = strict_date("due-on", args.value("due-on") or "")
        if on < utcnow().date():
            raise CommandError(enrol_words.PASSED.format(on.isoformat()))
        due = midnight(on)
    reason = " ".join((args.value("reason") or "").split())[:REASON_MAX] or None
    return Placement(required=not args.flag("recommended"), reason=reason, due_at=due)


async def _items(ctx: CommandContext, slugs: list[str]) -> tuple[CatalogItem, ...]:
    if not slugs:
        raise CommandError(enrol_words.NO_ITEMS)
    if len(slugs) > MAX_ITEMS:
        raise CommandError(enrol_words.TOO_MANY_ITEMS.format(MAX_ITEMS))
    found: dict[int, CatalogItem] = {}
    for slug in slugs:
        item = await catalog.get_item(ctx.session, ctx.organisation.id, slug)
        found[item.id] = item
    return tuple(found.values())


@command(
    "enrol add",
    "PEOPLE... ITEMS...",
    "enrol people (@mentions, emails, --group) in items (slugs), each told once; managers "
    "only their own direct reports",
    role=Role.MANAGER,
    doing=DOING,
    options=(
        Option("group", "GROUP", many=True),
        Option("required"),
        Option("recommended"),
        Option("due-within", "DAYS"),
        Option("due-on", "DATE"),
        Option("reason", "TEXT"),
    ),
    examples=(
        "enrol add @ann bob@example.com safety-101",
        'enrol add --group Sales gdpr-basics onboarding --due-within 30 --reason "New policy"',
        "enrol add ann@example.com safety-101 --recommended --due-on 2027-03-31",
    ),
)
async def add(ctx: CommandContext, args: Args) -> Notice:
    person_words = [w for w in args.words if names_a_person(w)]
    groups = args.values("group")
    if not person_words and not groups:
        raise CommandError(enrol_words.NO_PEOPLE)
    items = await _items(ctx, [w for w in args.words if not names_a_person(w)])
    placement = _terms(args)
    group_ids = tuple(sorted({(await group_named(ctx, g, None)).id for g in groups}))
    people = await people_named(ctx, person_words)
    caller = ctx.caller.user
    assert caller is not None  # a manager or an admin is someone
    placement = Placement(
        required=placement.required,
        reason=placement.reason,
        due_at=placement.due_at,
        enrolled_by_user_id=caller.id,
    )
    result = await byhand.add(
        ctx.session,
        byhand.Request(
            organisation_id=ctx.organisation.id,
            user_ids=tuple(sorted(set(people.user_ids))),
            group_ids=group_ids,
            items=items,
            placement=placement,
            by=str(ctx.account),
            by_name=caller.full_name,
            reach=audience.reach(ctx),
        ),
    )
    terms = enrol_words.placement(bool(placement.required), placement.due_at, placement.reason)
    text, lines = enrol_words.added(
        result, not_found=people.not_found, outsiders=people.outsiders, terms=terms
    )
    tone = Tone.SUCCESS if result.people else Tone.INFO
    return Notice(text, tone, lines=lines, heading="Enrolled by hand")


async def _someone(ctx: CommandContext, word: str, *, themselves: bool = False) -> User:
    """The person a word names, if the caller may act on them (else a sentence; nothing
    changed)."""
    me = ctx.caller.user
    if themselves and word.lower() in ("me", "myself"):
        if me is None:
            raise CommandError(enrol_words.NOT_KNOWN_YET)
        return me
    user = await person_named(ctx, word, cannot="isn't known")
    if not audience.may_act_on(ctx, user, themselves=themselves):
        if not (ctx.role or ctx.manager):
            raise CommandError(enrol_words.ONLY_YOURS.format(mine=ctx.usage("enrol list me")))
        raise CommandError(enrol_words.NOT_YOURS.format(name=echo(user.full_name, 80)))
    return user


@command(
    "enrol withdraw",
    "PERSON ITEM",
    "withdraw someone from an item, keeping their progress and history; they are told",
    role=Role.MANAGER,
    doing="withdraw other people",
    options=(Option("reason", "TEXT"),),
    examples=('enrol withdraw ann@example.com safety-101 --reason "Moved to another team"',),
    least=2,
    needs="who and which item",
    most=2,
)
async def withdraw_(ctx: CommandContext, args: Args) -> Notice:
    user = await _someone(ctx, args.words[0])
    item = await catalog.get_item(ctx.session, ctx.organisation.id, args.words[1])
    enrolment = await byhand.current(ctx.session, user.id, item.id)
    if enrolment is None:
        return Notice(enrol_words.withdrawn(None, user.full_name, item))
    caller = ctx.caller.user
    reason = " ".join((args.value("reason") or "").split())[:REASON_MAX] or None
    outcome = await byhand.take_out(
        ctx.session,
        organisation_id=ctx.organisation.id,
        enrolment=enrolment,
        by=str(ctx.account),
        by_user_id=caller.id if caller else None,
        by_name=caller.full_name if caller else "",
        reason=reason,
    )
    text = enrol_words.withdrawn(outcome, user.full_name, item)
    return Notice(text, Tone.SUCCESS if outcome is WithdrawOutcome.WITHDRAWN else Tone.INFO)


@command(
    "enrol list",
    "PERSON|me",
    "someone's enrolments: status, how they came about, due date (anyone may see their own)",
    role=Role.ANYONE,
    examples=("enrol list me", "enrol list ann@example.com"),
    least=1,
    needs="whose enrolments (me for yours)",
    most=1,
)
async def list_(ctx: CommandContext, args: Args) -> Notice:
    user = await _someone(ctx, args.words[0], themselves=True)
    me = ctx.caller.user
    yourself = me is not None and user.id == me.id
    lines, total = await enrolments_of(ctx.session, user, yourself=yourself)
    heading = enrol_words.listed_heading(user.full_name, yourself, total)
    return Notice(heading, lines=tuple(lines), heading="Enrolments")
