"""When a rule's enrolment is due, which period it belongs to, and when the learner sees it.

Periods: 0 for a rule that recurs once (and for every enrolment that is not a rule's); a
recurring rule's period is keyed by its anchor date as YYYYMMDD (20271001 for the year due on
1 October 2027; for every N days or months, the day the period starts). Dates are UTC days;
a due date is kept as midnight UTC of that day.

Each year on 29 February falls on 28 February in the years without one.

The next period (`next_period`, opened when the current one is completed): for --due-each-year
the next MM-DD after the completed period's; otherwise the completed period's start plus the
rule's interval (a year, N days, N months), due --due-within days after its start. A period
that starts on the last day of a month recurs on the last day of the month (31 January, 28 or
29 February, 31 March). Periods whose due date has already passed are skipped, so a late
completion never opens an overdue period. A completion of an enrolment outside the rule's
periods (period 0: a link, by hand) counts for the period the rule would give that day.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from store.models import Due, EnrolmentRule, Recur


@dataclass(frozen=True)
class Period:
    key: int
    due_at: datetime | None
    visible_from: datetime | None  # None: visible at once


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def key_of(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def day_of(key: int) -> date:
    return date(key // 10000, key // 100 % 100, key % 100)


def on_in_year(year: int, month: int, day: int) -> date:
    """MM-DD in `year`; 29 February is 28 February in a common year."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def next_on(today: date, month: int, day: int) -> date:
    """The first MM-DD on or after `today`."""
    this_year = on_in_year(today.year, month, day)
    return this_year if this_year >= today else on_in_year(today.year + 1, month, day)


def add_months(day: date, months: int) -> date:
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def last_of_month(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def step(rule: EnrolmentRule, start: date) -> date:
    """The start of the period after the one starting on `start` (start-anchored rules)."""
    if rule.recur is Recur.DAYS:
        return start + timedelta(days=rule.recur_every or 1)
    months = 12 if rule.recur is Recur.ANNUAL else (rule.recur_every or 1)
    later = add_months(start, months)
    if last_of_month(start):
        return on_in_year(later.year, later.month, 31)
    return later


def each_year(rule: EnrolmentRule) -> bool:
    return rule.due is Due.EACH_YEAR and bool(rule.due_month and rule.due_day)


def next_period(rule: EnrolmentRule, after: int, now: datetime) -> Period | None:
    """The period after period `after` (just completed) whose due date has not passed `now`;
    None for a rule that recurs once."""
    if rule.recur is Recur.ONCE:
        return None
    today = now.astimezone(UTC).date()
    if not after:
        after = first_period(rule, now).key
    if each_year(rule):
        assert rule.due_month and rule.due_day
        later = max(day_of(after) + timedelta(days=1), today)
        due = next_on(later, rule.due_month, rule.due_day)
        return Period(key_of(due), midnight(due), _visible(rule, due, today))
    start = step(rule, day_of(after))
    for _ in range(100_000):  # bounded: a daily rule completed centuries late still ends
        due = _due_from(rule, start)
        if (due or step(rule, start) - timedelta(days=1)) >= today:
            break
        start = step(rule, start)
    return Period(key_of(start), midnight(due) if due else None, _visible(rule, due, today))


def _due_from(rule: EnrolmentRule, start: date) -> date | None:
    """A later period's due date: --due-within days after its start, else none."""
    if rule.due is Due.WITHIN and rule.due_days is not None:
        return start + timedelta(days=rule.due_days)
    return None


def first_period(rule: EnrolmentRule, now: datetime) -> Period:
    """The period, due date and visibility of an enrolment the rule makes `now`."""
    today = now.astimezone(UTC).date()
    due = _first_due(rule, today)
    if rule.recur is Recur.ONCE:
        key = 0
    elif rule.due is Due.EACH_YEAR and rule.due_month and rule.due_day:
        key = key_of(next_on(today, rule.due_month, rule.due_day))
    else:
        key = key_of(today)
    return Period(key, midnight(due) if due else None, _visible(rule, due, today))


def _first_due(rule: EnrolmentRule, today: date) -> date | None:
    if rule.due is Due.WITHIN and rule.due_days is not None:
        return today + timedelta(days=rule.due_days)
    if rule.due is Due.ON:
        return rule.due_on
    if rule.due is Due.EACH_YEAR and rule.due_month and rule.due_day:
        due = next_on(today, rule.due_month, rule.due_day)
        # Someone enrolled close to the date gets the first due date the rule allows instead.
        if rule.first_due_within is not None and (due - today).days < rule.first_due_within:
            return today + timedelta(days=rule.first_due_within)
        return due
    return None


def _visible(rule: EnrolmentRule, due: date | None, today: date) -> datetime | None:
    if rule.enrol_days_before is None or due is None:
        return None
    shows = due - timedelta(days=rule.enrol_days_before)
    return midnight(shows) if shows > today else None
