"""How a rule reads to people: who it means and what it says, worded once for `rule create`,
`rule show`, `rule list`, and later for `why`, `drift` and the learners' messages."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.replies import echo
from handlers.rules.criteria import Criteria
from handlers.rules.saved import Terms
from store.models import Due, EnrolmentRule, Group, Recur, User


def day(value: date) -> str:
    """1 October 2027."""
    return f"{value.day} {value:%B %Y}"


def month_day(month: int, day_: int) -> str:
    """1 October."""
    return f"{day_} {date(2024, month, day_):%B}"


def terms_of(rule: EnrolmentRule) -> Terms:
    return Terms(**{name: getattr(rule, name) for name in Terms.__dataclass_fields__})


async def who(session: AsyncSession, criteria: Criteria) -> str:
    """Everyone in Sales (department) with language en-GB, hired after 1 March 2026."""
    parts: list[str] = []
    if criteria.group_ids:
        rows = await session.execute(
            select(Group.name, Group.kind).where(Group.id.in_(criteria.group_ids))
        )
        named = sorted(f"{echo(n)} ({k.value})" for n, k in rows)
        parts.append("in " + " or ".join(named))
    for name, values in sorted(criteria.fields().items()):
        parts.append(f"with {name} " + " or ".join(echo(v) for v in values))
    if criteria.manager_id is not None:
        manager = await session.get(User, criteria.manager_id)
        name = echo(manager.full_name) if manager else "someone no longer known"
        parts.append(f"{'below' if criteria.all_reports else 'reporting to'} {name}")
    if criteria.hired_after:
        parts.append(f"hired after {day(criteria.hired_after)}")
    if criteria.added_after:
        parts.append(f"added after {day(criteria.added_after)}")
    if criteria.include_prospects:
        parts.append("prospects included")
    return "everyone " + ", ".join(parts) if parts else "everyone"


def terms(t: Terms) -> str:
    """required, due each 1 October (first due within 30 days), every year, shown 60 days
    before it is due."""
    parts = ["required" if t.required else "recommended"]
    if t.due is Due.WITHIN and t.due_days is not None:
        parts.append(f"due within {t.due_days} days")
    elif t.due is Due.ON and t.due_on is not None:
        parts.append(f"due on {day(t.due_on)}")
    elif t.due is Due.EACH_YEAR and t.due_month and t.due_day:
        first = f" (first due within {t.first_due_within} days)" if t.first_due_within else ""
        parts.append(f"due each {month_day(t.due_month, t.due_day)}{first}")
    if t.recur is Recur.ANNUAL:
        parts.append("every year")
    elif t.recur is Recur.DAYS:
        parts.append(f"every {t.recur_every} days")
    elif t.recur is Recur.MONTHS:
        parts.append(f"every {t.recur_every} months")
    if t.enrol_days_before is not None:
        parts.append(f"enrolled {t.enrol_days_before} days before it is due")
    if t.withdraw_on_leave:
        parts.append("withdrawn if they leave before starting")
    if t.new_only:
        parts.append("only people who come to match from now on")
    if t.reason:
        parts.append(f"because “{echo(t.reason, 200)}”")
    return ", ".join(parts)


def state(rule: EnrolmentRule) -> str:
    if rule.deleted_at is not None:
        return "deleted"
    return "paused" if rule.paused_at is not None else "active"


def run_summary(
    rule_id: int, title: str, slug: str, enrolled: int, withdrawn: int, names: list[str]
) -> str:
    """What the maker of a rule hears after a run of it changed something."""
    done = []
    if enrolled:
        done.append(f"enrolled {enrolled:,} {'person' if enrolled == 1 else 'people'}")
    if withdrawn:
        done.append(f"withdrew {withdrawn:,} who left and had not started")
    shown = ", ".join(echo(n, 80) for n in names)
    rest = enrolled + withdrawn - len(names)
    if rest > 0:
        shown += f" and {rest:,} more"
    return (
        f"Rule {rule_id} ({echo(title, 200)}) {' and '.join(done)}: {shown}. "
        f"`rule show {rule_id}` for the rule, `drift {echo(slug, 100)}` to compare."
    )
