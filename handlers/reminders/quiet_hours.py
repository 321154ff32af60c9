"""When a person may be messaged: 08:00 to 20:00 on a weekday, in their own IANA time zone
(never a stored offset, so a daylight-saving change moves the hours with the clocks)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

OPENS = time(8)
CLOSES = time(20)
SATURDAY = 5


@lru_cache(maxsize=1024)
def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    """The IANA zone `name`, else `fallback`'s, else UTC: a zone a platform reports that this
    machine does not know must not stop anyone's reminders."""
    for candidate in (name, fallback):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def is_known(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def local_day(now: datetime, where: ZoneInfo) -> date:
    return now.astimezone(where).date()


def next_allowed(now: datetime, where: ZoneInfo) -> datetime:
    """`now` when it is within a weekday's 08:00–20:00 there, else the next weekday's 08:00
    there, in UTC."""
    local = now.astimezone(where)
    if local.weekday() < SATURDAY and OPENS <= local.time() < CLOSES:
        return now
    day = local.date() if local.time() < OPENS else local.date() + timedelta(days=1)
    while day.weekday() >= SATURDAY:
        day += timedelta(days=1)
    return datetime.combine(day, OPENS, tzinfo=where).astimezone(UTC)


def week_start(now: datetime, where: ZoneInfo) -> date:
    """The Monday of the week `now` falls in, there."""
    day = local_day(now, where)
    return day - timedelta(days=day.weekday())
