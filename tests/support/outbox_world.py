"""Outbox delivery over a real database with a controllable clock: an organisation with people and
subscribed channels, enrolments made at a chosen time, the far side of a channel that records
what arrives and answers as the test scripts, and the outbox's rows counted by status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from handlers.enrol import Outcome, enrol_with_token
from handlers.identity import Account, Profile
from handlers.links import default_link, token_for
from handlers.outbox import Batch, Result, SendOutcome
from handlers.signing import LinkSigner
from store.models import DigestMode, NotificationSubscription, Organisation, OutboxMessage, User
from tests.support import factories

SIGNER = LinkSigner(["k"])
T0 = datetime(2026, 11, 22, 10, 5, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime = T0) -> None:
        self.at = at
        self.step = 0.0  # seconds that pass with each reading, as if the work took time

    def __call__(self) -> datetime:
        self.at += timedelta(seconds=self.step)
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


class Recorder:
    """The far side of a channel: records what arrives, answers what the test scripts."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self.script: list[SendOutcome] = []

    async def send(self, batch: Batch) -> SendOutcome:
        outcome = self.script.pop(0) if self.script else SendOutcome.sent()
        if outcome.result is Result.SENT:
            self.batches.append(batch)
        return outcome

    def people(self) -> list[str]:
        return [p["person"] for b in self.batches for p in b.payloads]


async def world(session, *, people: int = 1, subscribe: dict | None = None):
    org = await factories.organisation(session)
    item = await factories.item(session, org)
    users = [
        await factories.user(
            session, org, email=f"p{n}@acme.test", first_name=f"P{n}", last_name="X"
        )
        for n in range(people)
    ]
    for channel, mode in (subscribe or {"C1": DigestMode.INSTANT}).items():
        session.add(
            NotificationSubscription(
                organisation_id=org.id,
                item_id=None,
                provider="slack",
                tenant_key="T1",
                channel_id=channel,
                channel_name=channel.lower(),
                mode=mode,
                admin_destination="slack:T1:UADMIN",
            )
        )
    await session.commit()
    return org, item, users


async def enrol(
    sessions, org_id: int, item, user: User, n: int, at: datetime | None = None
) -> Outcome:
    async with sessions() as s, s.begin():
        org = await s.get(Organisation, org_id)
        link = await default_link(s, item)

        async def lookup() -> Profile:
            return Profile(email=user.email)

        # The enrolment's own clock: the tests' clocks start at T0 whatever the real time is.
        import handlers.enrol as enrol_module

        original = enrol_module.utcnow
        enrol_module.utcnow = lambda: at or T0
        try:
            result = await enrol_with_token(
                s,
                signer=SIGNER,
                organisation=org,
                token=token_for(SIGNER, link),
                account=Account("slack", "T1", f"U{n}"),
                lookup=lookup,
            )
        finally:
            enrol_module.utcnow = original
        return result.outcome


async def statuses(sessions) -> dict[str, int]:
    async with sessions() as s:
        rows = await s.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return {status.value: n for status, n in rows}
