"""`rule create` and `rule preview`'s options, read strictly into a rule's criteria and terms:
every mistake is a sentence saying what to type instead."""

from __future__ import annotations

import re
from datetime import date

from handlers import directory
from handlers.commands.context import CommandContext, CommandError
from handlers.commands.persons import person_named
from handlers.commands.registry import Args, Option
from handlers.replies import echo
from handlers.rules.criteria import Criteria
from handlers.rules.saved import Terms
from store.models import WHERE_FIELDS, Due, GroupKind, Recur, utcnow

OPTIONS = (
    Option("everyone"),
    Option("group", "GROUP", many=True),
    Option("where", "FIELD=VALUE", many=True),
    Option("manager", "PERSON"),
    Option("all-reports"),
    Option("hired-after", "DATE"),
    Option("added-after", "DATE"),
    Option("include-prospects"),
    Option("required"),
    Option("recommended"),
    Option("reason", "TEXT"),
    Option("due-within", "DAYS"),
    Option("due-on", "DATE"),
    Option("due-each-year", "MM-DD"),
    Option("first-due-within", "DAYS"),
    Option("recur", "once|annual|every N days|months"),
    Option("enrol-days-before", "DAYS"),
    Option("withdraw-on-leave"),
    Option("existing"),
    Option("new-only"),
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
_EVERY = re.compile(r"^every\s+(\d{1,4})\s+(day|days|month|months)$", re.IGNORECASE)
MAX_DAYS = 3650
REASON_MAX = 500


def strict_date(option: str, word: str) -> date:
    """A YYYY-MM-DD date that exists."""
    try:
        if not _DATE.match(word):
            raise ValueError
        return date.fromisoformat(word)
    except ValueError:
        raise CommandError(
            f"`{echo(word)}` isn't a date for --{option}: write it as YYYY-MM-DD, e.g. 2027-03-31."
        ) from None


def month_day(word: str) -> tuple[int, int]:
    """MM-DD of a day that exists in some year (02-29 included)."""
    found = _MONTH_DAY.match(word)
    try:
        if not found:
            raise ValueError
        date(2024, int(found.group(1)), int(found.group(2)))  # a leap year: 02-29 exists
    except ValueError:
        raise CommandError(
            f"`{echo(word)}` isn't a month and day for --due-each-year: write MM-DD, e.g. 10-01 "
            "for 1 October."
        ) from None
    return int(found.group(1)), int(found.group(2))


def days(option: str, word: str | None) -> int | None:
    if word is None:
        return None
    if not word.isdigit() or not 0 < int(word) <= MAX_DAYS:
        raise CommandError(
            f"--{option} needs a number of days from 1 to {MAX_DAYS}, e.g. --{option} 30; "
            f"`{echo(word)}` isn't one."
        )
    return int(word)


def recurrence(args: Args) -> tuple[Recur, int | None, list[str]]:
    """--recur once | annual | every N days|months (the last as one quoted value, or as the
    words that follow it); the positional words left over."""
    value = args.value("recur")
    rest = list(args.words[1:])
    if value is None or value.lower() == "once":
        return Recur.ONCE, None, rest
    if value.lower() in ("annual", "yearly"):
        return Recur.ANNUAL, None, rest
    if value.lower() == "every" and len(rest) >= 2:
        value, rest = f"every {rest[0]} {rest[1]}", rest[2:]
    found = _EVERY.match(value.strip())
    if not found or not 0 < int(found.group(1)) <= MAX_DAYS:
        raise CommandError(
            f"`{echo(value)}` isn't a recurrence: use --recur once, --recur annual, or "
            "--recur every N days / --recur every N months (e.g. --recur every 6 months)."
        )
    unit = Recur.DAYS if found.group(2).lower().startswith("day") else Recur.MONTHS
    return unit, int(found.group(1)), rest


def _exclusive(args: Args, *names: str) -> None:
    given = [n for n in names if args.options.get(n)]
    if len(given) > 1:
        raise CommandError(
            f"Give one of {' or '.join('--' + n for n in names)}, not "
            f"{' and '.join('--' + n for n in given)}."
        )


async def _group_id(ctx: CommandContext, word: str) -> int:
    kind, name = None, word
    prefix, colon, rest = word.partition(":")
    if colon and prefix.lower() in {k.value for k in GroupKind}:
        kind, name = GroupKind(prefix.lower()), rest
    found = await directory.find_group(ctx.session, ctx.organisation.id, name, kind)
    if not found:
        raise CommandError(f"There's no group called {echo(name)}; `group list` shows them.")
    if len(found) > 1:
        kinds = ", ".join(sorted({g.kind.value for g in found}))
        raise CommandError(
            f"Several groups are called {echo(name)} ({kinds}): say which as KIND:NAME, e.g. "
            f"--group {found[0].kind.value}:{echo(name)}."
        )
    return found[0].id


def _where(word: str) -> tuple[str, str]:
    field, eq, value = word.partition("=")
    field = field.strip().lower()
    if not eq or field not in WHERE_FIELDS or not value.strip():
        raise CommandError(
            f"`{echo(word)}` isn't a condition: write --where FIELD=VALUE with FIELD one of "
            f"{', '.join(WHERE_FIELDS)}, e.g. --where department=Sales."
        )
    return field, " ".join(value.split())[:200]


async def criteria_of(ctx: CommandContext, args: Args) -> Criteria:
    """Who the options name."""
    manager = args.value("manager")
    if args.flag("all-reports") and manager is None:
        raise CommandError("--all-reports goes with --manager PERSON: whose reports?")
    manager_id = None
    if manager is not None:
        manager_id = (await person_named(ctx, manager, cannot="can't be a rule's manager")).id
    hired = args.value("hired-after")
    added = args.value("added-after")
    criteria = Criteria(
        organisation_id=ctx.organisation.id,
        everyone=args.flag("everyone"),
        group_ids=tuple(sorted({await _group_id(ctx, g) for g in args.values("group")})),
        where=tuple(sorted({_where(w) for w in args.values("where")})),
        manager_id=manager_id,
        all_reports=args.flag("all-reports"),
        hired_after=strict_date("hired-after", hired) if hired else None,
        added_after=strict_date("added-after", added) if added else None,
        include_prospects=args.flag("include-prospects"),
    )
    if not criteria.says_who:
        raise CommandError(
            "Say who the rule is for: --everyone, --group GROUP, --where FIELD=VALUE, "
            "--manager PERSON, --hired-after DATE or --added-after DATE."
        )
    return criteria


def terms_of(args: Args) -> tuple[Terms, list[str]]:
    """What the options say beyond who; the positional words left over."""
    _exclusive(args, "required", "recommended")
    _exclusive(args, "due-within", "due-on", "due-each-year")
    _exclusive(args, "existing", "new-only")
    recur, every, rest = recurrence(args)
    due, due_days, due_on, each = Due.NONE, None, None, (None, None)
    if args.value("due-within") is not None:
        due, due_days = Due.WITHIN, days("due-within", args.value("due-within"))
    elif args.value("due-on") is not None:
        due, due_on = Due.ON, strict_date("due-on", args.value("due-on") or "")
        if due_on < utcnow().date():
            raise CommandError(f"--due-on {due_on.isoformat()} has passed: give a later date.")
    elif args.value("due-each-year") is not None:
        due, each = Due.EACH_YEAR, month_day(args.value("due-each-year") or "")
    first = days("first-due-within", args.value("first-due-within"))
    if first is not None and due is not Due.EACH_YEAR:
        raise CommandError("--first-due-within goes with --due-each-year MM-DD.")
    before = days("enrol-days-before", args.value("enrol-days-before"))
    if before is not None and due is Due.NONE:
        raise CommandError(
            "--enrol-days-before counts back from the due date: give --due-on DATE, "
            "--due-each-year MM-DD or --due-within DAYS too."
        )
    if recur is not Recur.ONCE and due is Due.ON:
        raise CommandError(
            "A rule that recurs can't be due on one date: use --due-each-year MM-DD or "
            "--due-within DAYS."
        )
    reason = " ".join((args.value("reason") or "").split())[:REASON_MAX] or None
    terms = Terms(
        required=not args.flag("recommended"),
        reason=reason,
        due=due,
        due_days=due_days,
        due_on=due_on,
        due_month=each[0],
        due_day=each[1],
        first_due_within=first,
        recur=recur,
        recur_every=every,
        enrol_days_before=before,
        withdraw_on_leave=args.flag("withdraw-on-leave"),
        new_only=args.flag("new-only"),
    )
    return terms, rest
