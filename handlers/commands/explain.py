"""why and drift: automatic enrolment explaining itself (handlers.rules.explain and
handlers.rules.drift hold the queries and sentences). `why ITEM` is anyone's, about themselves;
`why PERSON ITEM` and `drift ITEM` are admins'."""

from __future__ import annotations

from handlers import catalog
from handlers.commands.context import CommandContext, CommandError
from handlers.commands.persons import person_named
from handlers.commands.registry import Args, Role, command
from handlers.replies import Notice, echo
from handlers.rules.drift import LISTED, drift
from handlers.rules.explain import why
from store.models import User, utcnow

OTHERS = (
    "Only enrolment admins can ask why someone else was enrolled; {mine} tells you about "
    "your own enrolment."
)


@command(
    "why",
    "[PERSON] ITEM",
    "how someone came to be enrolled in ITEM: which rule, link, token or person, when, and "
    "through which membership (anyone may ask about themselves)",
    role=Role.ANYONE,
    examples=("why safety-101", "why ann@example.com gdpr"),
    least=1,
    needs="which item",
    most=2,
)
async def why_(ctx: CommandContext, args: Args) -> Notice:
    *person, slug = args.words
    item = await catalog.get_item(ctx.session, ctx.organisation.id, slug)
    me = ctx.caller.user
    if person:
        who = await person_named(ctx, person[0], cannot="can't be asked about")
        if ctx.role is None and (me is None or who.id != me.id):
            raise CommandError(OTHERS.format(mine=ctx.usage(f"why {item.slug}")))
    elif me is None:
        raise CommandError(
            "I don't know you as a learner yet, so you have no enrolments to explain."
        )
    else:
        who = me
    return await _answer(ctx, who, item, yourself=not person)


async def _answer(ctx: CommandContext, who: User, item, *, yourself: bool) -> Notice:
    sentences = await why(ctx.session, who, item, utcnow() if yourself else None)
    name = "You" if yourself else echo(who.full_name, 80)
    if not sentences:
        verb = "have" if yourself else "has"
        return Notice(f"{name} {verb} never been enrolled in {echo(item.title)}.")
    subject = "Your" if yourself else f"{name}'s"
    return Notice(
        f"{subject} enrolment in {echo(item.title)}:",
        lines=tuple(sentences),
        heading="Why",
    )


@command(
    "drift",
    "ITEM",
    "who the item's rules expect but is not enrolled, and who is enrolled without a rule, "
    "each with the reason",
    role=Role.ADMIN,
    doing="compare rules with enrolments",
    examples=("drift safety-101",),
    least=1,
    needs="which item",
    most=1,
)
async def drift_(ctx: CommandContext, args: Args) -> Notice:
    item = await catalog.get_item(ctx.session, ctx.organisation.id, args.words[0])
    found = await drift(ctx.session, item)
    if not found.rules:
        return Notice(
            f"{echo(item.title)} has no rules, so nothing is expected. "
            f"{ctx.usage(f'rule create {item.slug}')} makes one."
        )
    lines: list[str] = []
    for title, count, listed in (
        ("Expected by the rules but not enrolled", found.missing, found.missing_listed),
        ("Enrolled without an active rule", found.extra, found.extra_listed),
    ):
        lines.append(f"{title}: {count:,}")
        lines += [f"  {name}: {reason}" for name, reason in listed]
        if count > LISTED:
            lines.append(f"  … and {count - len(listed):,} more")
    text = (
        f"{echo(item.title)} matches its rules exactly."
        if not (found.missing or found.extra)
        else f"{echo(item.title)}: {found.missing:,} expected but not enrolled, "
        f"{found.extra:,} enrolled without an active rule."
    )
    return Notice(text, lines=tuple(lines), heading="Drift")
