"""Managers' weekly summary and nudges: queued on Monday morning in the manager's own zone (and
not before, nor twice), their direct reports' overdue and due-soon required training as `team`
reads it, rendered with a Nudge per report and item; a nudge reaches the report once a day."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import jsonschema
from sqlalchemy import select

from bot.slack.reminder_blocks import summary_message
from bot.teams.reminder_cards import summary_card
from handlers.commands.enrolment_view import team_of
from handlers.reminders import words
from handlers.reminders.team import nudge, nudge_value, run_summaries
from handlers.replies import Tone
from store.models import (
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    OutboxMessage,
    User,
    UserStatus,
)
from tests.support import factories
from tests.test_slack_blocks import parsed

# Monday 15 March 2027, the day after New York's clocks went forward: 08:00 EDT is 12:00 UTC.
MONDAY_0830 = datetime(2027, 3, 15, 12, 30, tzinfo=UTC)


async def _team(sessions) -> dict:
    ids: dict = {}
    async with sessions() as s, s.begin():
        org = await factories.organisation(s)
        mia = await factories.user(s, org, "mia@example.com", first_name="Mia", last_name="Boss")
        mia.time_zone = "America/New_York"
        other = await factories.user(s, org, "oz@example.com", first_name="Oz")
        people = {"mia": mia, "oz": other}
        for name, boss, status in (
            ("ann", mia, UserStatus.ACTIVE),
            ("bob", mia, UserStatus.ACTIVE),
            ("cat", mia, UserStatus.DEACTIVATED),
            ("zed", other, UserStatus.ACTIVE),
        ):
            person = await factories.user(
                s, org, f"{name}@example.com", first_name=name.title(), last_name="Lee"
            )
            person.manager_id, person.status = boss.id, status
            people[name] = person
        items = {
            slug: await factories.item(s, org, slug, url=f"https://lms.example/{slug}")
            for slug in ("safety", "privacy", "ethics")
        }
        await s.flush()
        for who, slug, due, required, status in (
            ("ann", "safety", date(2027, 3, 10), True, EnrolmentStatus.ENROLLED),  # overdue
            ("ann", "privacy", date(2027, 3, 1), True, EnrolmentStatus.COMPLETED),
            ("ann", "ethics", date(2027, 6, 1), True, EnrolmentStatus.ENROLLED),  # far off
            ("bob", "safety", date(2027, 3, 20), True, EnrolmentStatus.ENROLLED),  # due soon
            ("bob", "privacy", date(2027, 3, 20), False, EnrolmentStatus.ENROLLED),  # optional
            ("cat", "safety", date(2027, 3, 1), True, EnrolmentStatus.ENROLLED),  # deactivated
            ("zed", "safety", date(2027, 3, 1), True, EnrolmentStatus.ENROLLED),  # not Mia's
        ):
            s.add(
                Enrolment(
                    user_id=people[who].id,
                    item_id=items[slug].id,
                    source=EnrolmentSource.RULE,
                    status=status,
                    required=required,
                    due_at=datetime.combine(due, datetime.min.time(), tzinfo=UTC),
                )
            )
        ids = {name: p.id for name, p in people.items()} | {s_: i.id for s_, i in items.items()}
    return ids


async def _summaries(sessions) -> list[OutboxMessage]:
    async with sessions() as s:
        query = select(OutboxMessage).where(OutboxMessage.kind == words.SUMMARY)
        return list((await s.execute(query)).scalars())


async def test_the_weekly_summary_is_queued_on_the_managers_monday_morning_once(sessions, schemas):
    ids = await _team(sessions)
    for early in (
        datetime(2027, 3, 14, 14, tzinfo=UTC),  # Sunday
        datetime(2027, 3, 15, 11, 30, tzinfo=UTC),  # Monday 07:30 EDT
        datetime(2027, 3, 15, 14, 0, tzinfo=UTC),  # Monday 10:00 EDT: the window has closed
    ):
        assert (await run_summaries(sessions, early)).queued == []
    assert (await run_summaries(sessions, MONDAY_0830)).queued == ["mia@example.com"]
    assert (await run_summaries(sessions, MONDAY_0830)).queued == []
    [row] = await _summaries(sessions)
    assert row.destination == "email:mia@example.com"
    summary = words.compose_summary([row.payload])
    assert summary.heading == (
        "Your team this week: 1 overdue required item and 1 required item due in the next 14 days."
    )
    shown = [words.plain(line.spans) for line in summary.lines]
    assert shown == [
        "Ann Lee · Safety · overdue: it was due 10 March 2027",
        "Bob Lee · Safety · due in 5 days (20 March 2027)",
    ]
    # The same data as `team`: each line of the summary is a line of the manager's team.
    async with sessions() as s:
        mia = await s.get(User, ids["mia"])
        _, team = await team_of(s, mia, [])
    assert any(t.startswith("Ann Lee: Safety") for t in team)  # team reads the real clock
    assert any(t.startswith("Bob Lee: Safety") for t in team)
    blocks = summary_message(summary)
    parsed(blocks)
    values = [b["accessory"]["value"] for b in blocks["blocks"] if b.get("accessory")]
    assert values == [f"{ids['ann']}:{ids['safety']}", f"{ids['bob']}:{ids['safety']}"]
    schema = json.loads((schemas / "adaptive-card.1.5.0.schema.json").read_text())
    jsonschema.Draft6Validator(schema).validate(summary_card(summary))


async def test_a_nudge_reaches_the_report_once_a_day_and_only_from_their_manager(sessions):
    ids = await _team(sessions)
    value = nudge_value(ids["ann"], ids["safety"])
    for expected in (
        "Nudged Ann Lee about Safety: they have a one-line reminder in their direct messages.",
        "Ann Lee was already nudged about Safety today; you can nudge them again tomorrow.",
    ):
        async with sessions() as s, s.begin():
            told = await nudge(s, await s.get(User, ids["mia"]), value, MONDAY_0830)
        assert told.text == expected
    async with sessions() as s, s.begin():
        oz = await nudge(s, await s.get(User, ids["oz"]), value, MONDAY_0830)
        forged = await nudge(s, await s.get(User, ids["mia"]), "1:x", MONDAY_0830)
    assert oz.tone is Tone.ERROR and forged.tone is Tone.ERROR
    async with sessions() as s, s.begin():
        tomorrow = datetime(2027, 3, 16, 13, tzinfo=UTC)
        again = await nudge(s, await s.get(User, ids["mia"]), value, tomorrow)
    assert again.tone is Tone.SUCCESS
    async with sessions() as s:
        rows = list(
            (
                await s.execute(select(OutboxMessage).where(OutboxMessage.kind == words.REMINDER))
            ).scalars()
        )
    assert [r.destination for r in rows] == ["email:ann@example.com"] * 2
    message = words.compose([rows[0].payload], 1)
    assert message.heading() == "Mia Boss reminds you about Safety."
    assert words.plain(message.items[0].details()) == (
        "Required · overdue: it was due 10 March 2027 · a reminder from Mia Boss"
    )
