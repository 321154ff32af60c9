"""`enrolbot reminders run` and `enrolbot org set --reminder-days/--time-zone` as an operator
runs them: what was queued, what was held for quiet hours, nothing the second time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from store.db import make_engine, make_sessionmaker
from store.models import Enrolment, EnrolmentSource
from tests.support import factories
from tests.support.processes import enrolbot


def _seed(url: str) -> None:
    async def run() -> None:
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as s, s.begin():
                org = await factories.organisation(s)
                item = await factories.item(s, org, "safety", title="Fire <safety>")
                ann = await factories.user(s, org, "ann@example.com")
                bob = await factories.user(s, org, "bob@example.com")
                bob.time_zone = "Australia/Sydney"
                await s.flush()
                for person in (ann, bob):
                    s.add(
                        Enrolment(
                            user_id=person.id,
                            item_id=item.id,
                            source=EnrolmentSource.RULE,
                            required=True,
                            due_at=datetime(2027, 6, 16, tzinfo=UTC),
                        )
                    )
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_reminders_run_prints_what_it_queued_and_held_then_nothing(tmp_path, db_url):
    _seed(db_url)
    org = enrolbot("org", "set", "--reminder-days", "7, 1", cwd=tmp_path, DATABASE_URL=db_url)
    assert org.returncode == 0, org.stderr
    assert "reminder days before due: 7,1" in org.stdout
    # Tuesday 15 June 2027 12:00 UTC: Ann's (UTC) noon, Bob's (Sydney) 22:00, so his reminder
    # of the day before arrives at his 08:00 on the due day, and says so.
    first = enrolbot(
        "reminders", "run", "--now", "2027-06-15T12:00", cwd=tmp_path, DATABASE_URL=db_url
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "queued: ann@example.com · Fire <safety> · due tomorrow (16 June 2027)",
        "held: bob@example.com · Fire <safety> · due today (16 June 2027) until "
        "2027-06-15 22:00 UTC",
        "Reminders: 2 queued, 1 to send now, 1 held back for quiet hours or the weekend.",
        "Managers' summaries: 0 queued.",
    ]
    second = enrolbot(
        "reminders", "run", "--now", "2027-06-15T12:00", cwd=tmp_path, DATABASE_URL=db_url
    )
    assert second.stdout.splitlines()[0].startswith("Reminders: 0 queued")


def test_bad_reminder_days_and_zones_are_refused_with_a_sentence(tmp_path, db_url):
    days = enrolbot("org", "set", "--reminder-days", "7,x", cwd=tmp_path, DATABASE_URL=db_url)
    assert days.returncode != 0
    assert "whole numbers separated by commas" in days.stderr
    zone = enrolbot("org", "set", "--time-zone", "EST+5", cwd=tmp_path, DATABASE_URL=db_url)
    assert zone.returncode != 0
    assert "not an IANA time zone" in zone.stderr
    bad = enrolbot("reminders", "run", "--now", "tomorrow", cwd=tmp_path, DATABASE_URL=db_url)
    assert bad.returncode == 1
    assert bad.stderr == (
        "Error: --now takes a date and time written YYYY-MM-DDTHH:MM (ISO 8601, UTC unless an "
        "offset such as +01:00 follows), such as 2027-03-15T09:00; “tomorrow” isn't one.\n"
    )
    nameless = enrolbot("org", "set", "--name", " ", cwd=tmp_path, DATABASE_URL=db_url)
    assert nameless.returncode == 1
    assert nameless.stderr == (
        "Error: --name cannot be empty: give the organisation's name, such as --name 'Acme'.\n"
    )
    shown = enrolbot("org", "show", "--help", cwd=tmp_path)
    assert "reminder days" in shown.stdout and "time zone" in shown.stdout
