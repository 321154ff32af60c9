"""Delivering the outbox: every row sent, none lost, a channel never flooded.

Each destination (a channel, an inbox) has a lane. A worker claims a lane with a conditional
UPDATE that only one worker can win, sends everything due for that destination as one message,
marks those rows sent, and sets when the lane may send next. So:

- two workers never send the same rows: only the lane's holder sends to it;
- a channel gets at most one message per `min_gap`, and a burst becomes a few combined messages;
- a worker that dies holding a lane loses nothing: its lease runs out and another worker sends
  the rows still pending. The one window for a duplicate is a death between the platform's
  answer and the UPDATE that marks the rows sent.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.alerts import ALERT, NOTICE
from store.models import (
    DeliveryLane,
    NotificationSubscription,
    OutboxMessage,
    OutboxStatus,
    utcnow,
)
from store.upsert import insert_ignoring_conflict

log = logging.getLogger(__name__)

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
MAX_BACKOFF_SECONDS = 900


class Result(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"  # try again later: rate limited, a 5xx, a timeout
    FAILED = "failed"  # will never work: the channel is archived, the bot was removed


@dataclass(frozen=True)
class SendOutcome:
    result: Result
    reason: str = ""
    retry_after: float | None = None  # seconds, when the platform said so

    @classmethod
    def sent(cls) -> SendOutcome:
        return cls(Result.SENT)


@dataclass(frozen=True)
class Batch:
    destination: str
    kind: str  # alert, digest:hourly, digest:daily, notice
    payloads: list[dict]
    total_due: int  # how many rows were due, of which `payloads` is the first part


Sender = Callable[[Batch], Awaitable[SendOutcome]]


@dataclass
class Channel:
    """How to reach one kind of destination ("slack", "email", "teams")."""

    send: Sender
    max_batch: int = 400  # rows one message may carry within the platform's limits


class Delivery:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: dict[str, Channel],
        *,
        clock: Callable[[], datetime] = utcnow,
        min_gap: float = 1.0,
        lease_seconds: float = 60.0,
        concurrency: int = 8,
        owner: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.channels = channels
        self.clock = clock
        self.min_gap = timedelta(seconds=min_gap)
        self.lease = timedelta(seconds=lease_seconds)
        self.owner = owner or uuid.uuid4().hex[:16]
        self._limit = asyncio.Semaphore(concurrency)

    async def run_once(self) -> int:
        """Send what is due now; the number of messages sent."""
        now = self.clock()
        async with self.sessions() as session:
            destinations = list(
                (
                    await session.execute(
                        select(OutboxMessage.destination)
                        .where(
                            OutboxMessage.status == OutboxStatus.PENDING,
                            OutboxMessage.not_before <= now,
                        )
                        .group_by(OutboxMessage.destination)
                        .order_by(func.min(OutboxMessage.id))
                        .limit(200)
                    )
                ).scalars()
            )
        sent = await asyncio.gather(*(self._lane(d) for d in destinations))
        return sum(sent)

    async def _lane(self, destination: str) -> int:
        async with self._limit:
            if not await self._claim(destination):
                return 0
            try:
                return await self._deliver(destination)
            except Exception:
                log.exception(
                    "delivery to %s failed unexpectedly; it will be retried", _safe(destination)
                )
                await self._release(destination, self.clock() + timedelta(seconds=30))
                return 0

    async def _claim(self, destination: str) -> bool:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            await insert_ignoring_conflict(
                session, DeliveryLane, {"destination": destination, "not_before": EPOCH}
            )
            claimed = await session.execute(
                update(DeliveryLane)
                .where(
                    DeliveryLane.destination == destination,
                    DeliveryLane.not_before <= now,
                    (DeliveryLane.lease_until.is_(None)) | (DeliveryLane.lease_until < now),
                )
                .values(lease_until=now + self.lease, lease_owner=self.owner)
            )
            return claimed.rowcount == 1

    async def _release(self, destination: str, not_before: datetime) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(DeliveryLane)
                .where(
                    DeliveryLane.destination == destination, DeliveryLane.lease_owner == self.owner
                )
                .values(lease_until=None, lease_owner=None, not_before=not_before)
            )

    async def _deliver(self, destination: str) -> int:
        scheme = destination.split(":", 1)[0]
        channel = self.channels.get(scheme)
        now = self.clock()
        batch = await self._due(destination, now, channel.max_batch if channel else 1)
        if batch is None:
            await self._release(destination, now)
            return 0
        first, ids, attempts, payloads, total = batch
        began = self.clock()
        if channel is None:
            outcome = SendOutcome(Result.FAILED, f"no way to send to '{scheme}' is configured")
        else:
            outcome = await channel.send(Batch(destination, first, payloads, total))
        await self._settle(destination, first, ids, outcome, attempts, began)
        return 1 if outcome.result is Result.SENT else 0

    async def _due(
        self, destination: str, now: datetime, limit: int
    ) -> tuple[str, list[int], int, list[dict], int] | None:
        """The oldest due kind for a destination: (kind, row ids, next attempt number,
        payloads, how many of that kind are due in all); None when nothing is due."""
        async with self.sessions() as session:
            first = (
                await session.execute(
                    select(OutboxMessage.kind)
                    .where(
                        OutboxMessage.destination == destination,
                        OutboxMessage.status == OutboxStatus.PENDING,
                        OutboxMessage.not_before <= now,
                    )
                    .order_by(OutboxMessage.id)
                    .limit(1)
                )
            ).scalar()
            if first is None:
                return None
            due = (
                OutboxMessage.destination == destination,
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.not_before <= now,
                OutboxMessage.kind == first,
            )
            total = await session.scalar(
                select(func.count()).select_from(OutboxMessage).where(*due)
            )
            rows = (
                await session.execute(
                    select(OutboxMessage.id, OutboxMessage.payload, OutboxMessage.attempts)
                    .where(*due)
                    .order_by(OutboxMessage.id)
                    .limit(limit)
                )
            ).all()
        attempts = max(r.attempts for r in rows) + 1
        return first, [r.id for r in rows], attempts, [r.payload for r in rows], total or len(rows)

    async def _settle(
        self,
        destination: str,
        kind: str,
        ids: list[int],
        outcome: SendOutcome,
        attempts: int,
        began: datetime,
    ) -> None:
        now = self.clock()
        rows = OutboxMessage.id.in_(ids)
        async with self.sessions() as session, session.begin():
            if outcome.result is Result.SENT:
                await session.execute(
                    update(OutboxMessage)
                    .where(rows, OutboxMessage.status == OutboxStatus.PENDING)
                    .values(status=OutboxStatus.SENT, sent_at=now, attempts=attempts)
                )
                # Paced from when this send began: the next one begins a second later at the
                # soonest, however long this one took or the next one waits to start.
                next_send = began + self.min_gap
            elif outcome.result is Result.RETRY:
                wait = outcome.retry_after
                if wait is None:
                    wait = min(2**attempts, MAX_BACKOFF_SECONDS)
                next_send = now + timedelta(seconds=max(wait, self.min_gap.total_seconds()))
                await session.execute(
                    update(OutboxMessage)
                    .where(rows)
                    .values(
                        attempts=attempts, not_before=next_send, last_error=outcome.reason[:500]
                    )
                )
                log.warning(
                    "delivery to %s will be retried in %.0fs: %s",
                    _safe(destination),
                    (next_send - now).total_seconds(),
                    outcome.reason,
                )
            else:
                await session.execute(
                    update(OutboxMessage)
                    .where(rows)
                    .values(
                        status=OutboxStatus.FAILED,
                        attempts=attempts,
                        last_error=outcome.reason[:500],
                    )
                )
                log.error("delivery to %s failed for good: %s", _safe(destination), outcome.reason)
                if kind != NOTICE:
                    await self._give_up_on(session, destination, outcome.reason, now)
                next_send = now + self.min_gap
            await session.execute(
                update(DeliveryLane)
                .where(
                    DeliveryLane.destination == destination, DeliveryLane.lease_owner == self.owner
                )
                .values(lease_until=None, lease_owner=None, not_before=next_send)
            )

    async def _give_up_on(
        self, session: AsyncSession, destination: str, reason: str, now: datetime
    ) -> None:
        """Stop alerting a destination that can no longer take messages, fail what waits for
        it, and tell each admin who subscribed it, once."""
        provider, _, rest = destination.partition(":")
        if provider == "email":
            match = NotificationSubscription.email == rest
        else:
            tenant, _, channel_id = rest.partition(":")
            match = (
                (NotificationSubscription.provider == provider)
                & (NotificationSubscription.tenant_key == tenant)
                & (NotificationSubscription.channel_id == channel_id)
            )
        subscriptions = list(
            (
                await session.execute(
                    select(NotificationSubscription).where(
                        match, NotificationSubscription.disabled_at.is_(None)
                    )
                )
            ).scalars()
        )
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.destination == destination,
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.kind != NOTICE,
            )
            .values(status=OutboxStatus.FAILED, last_error=f"destination disabled: {reason}"[:500])
        )
        told: set[str] = set()
        for sub in subscriptions:
            sub.disabled_at, sub.disabled_reason = now, reason[:200]
            admin = sub.admin_destination
            if admin and admin not in told:
                told.add(admin)
                where = f"#{sub.channel_name}" if sub.channel_name else (sub.email or "a channel")
                session.add(
                    OutboxMessage(
                        organisation_id=sub.organisation_id,
                        kind=NOTICE,
                        destination=admin,
                        payload={
                            "text": (
                                f"Self-enrolment alerts to {where} have stopped: it no longer "
                                f"takes my messages ({reason}). Subscribe another channel with "
                                "`notify ITEM|all #channel`, or invite me back and subscribe "
                                "it again."
                            )
                        },
                        not_before=now,
                        attempts=0,
                    )
                )


def _safe(destination: str) -> str:
    """A destination for the log: channels as they are, email addresses without the local part."""
    if destination.startswith("email:") and "@" in destination:
        return "email:…@" + destination.rsplit("@", 1)[1]
    return destination


__all__ = ["ALERT", "Batch", "Channel", "Delivery", "Result", "SendOutcome", "Sender"]
