"""Delivering the outbox: every row sent, none lost, a channel never flooded or held up by
another.

Each destination (a channel, an inbox) has a lane. A worker claims a lane with a conditional
UPDATE that only one worker can win, sends everything due for that destination as one message,
marks those rows sent, and sets when the lane may send next. So:

- two workers never send the same rows: only the lane's holder sends to it;
- a channel gets at most one message per `min_gap`, and a burst becomes a few combined messages;
- each lane sends from a task of its own, so a hung platform call holds up no other channel, and
  every send times out well inside the lane's lease, so no other worker takes the lane over
  while it may still be under way;
- a worker that dies holding a lane loses nothing: its lease runs out and another worker sends
  the rows still pending.

At least once, not exactly once: the one window for a duplicate is between the platform taking
the message and the UPDATE that marks its rows sent. A worker killed there, or a connection that
drops (or a send that times out) after the platform posted but before its answer came, leaves
the rows pending, and they are posted again. Slack and Teams take no idempotency key, so the
window is kept as short as it can be: one small transaction right after the answer.

A send ends in one of four outcomes: sent; retry later (rate limited, a 5xx, a timeout); the
destination is gone (its subscriptions stop, its admins are told once); or this one message is
bad (it fails alone and is logged, its admins are told once, the destination keeps its alerts).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import admin_notices
from handlers.alert_message import ALERT, GROUP_INVITATION, INVITATION, JOIN_CONFIRM, NOTICE
from handlers.destinations import BadDestination, Destination, for_log
from handlers.reminders.words import REMINDER, SUMMARY
from handlers.rules.telling import LEARNER
from store.models import DeliveryLane, OutboxMessage, OutboxStatus, utcnow
from store.upsert import insert_ignoring_conflict

log = logging.getLogger(__name__)

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
MAX_BACKOFF_SECONDS = 900
# A message whose sending raised something unforeseen (a rendering bug) this many times is
# treated as bad rather than retried for ever.
MAX_UNEXPECTED = 5


class Result(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"  # try again later: rate limited, a 5xx, a timeout
    FAILED = "failed"  # the destination is gone: the channel is archived, the bot was removed
    REJECTED = "rejected"  # this message is bad (malformed, too long); the destination is fine


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

    @property
    def to(self) -> Destination:
        return Destination.parse(self.destination)


Sender = Callable[[Batch], Awaitable[SendOutcome]]
# An async_sessionmaker, or one whose sessions wait their turn (the service's: bot.foreground).
Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass
class Channel:
    """How to reach one kind of destination ("slack", "email", "teams")."""

    send: Sender
    max_batch: int = 400  # rows one message may carry within the platform's limits
    timeout: float = 30.0  # seconds one send may take, all its calls included


class Delivery:
    def __init__(
        self,
        sessions: Sessions,
        channels: dict[str, Channel],
        *,
        clock: Callable[[], datetime] = utcnow,
        min_gap: float = 1.0,
        lease_seconds: float = 60.0,
        concurrency: int = 32,
        owner: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.channels = channels
        self.clock = clock
        self.min_gap = timedelta(seconds=min_gap)
        self.lease = timedelta(seconds=lease_seconds)
        self.owner = owner or uuid.uuid4().hex[:16]
        self.concurrency = concurrency
        self._lanes: dict[str, asyncio.Task[int]] = {}  # destination -> its send under way

    async def run_once(self) -> int:
        """Send what is due now and wait for it; the number of messages sent."""
        results = await asyncio.gather(*(await self.dispatch()))
        return sum(results)

    async def dispatch(self) -> list[asyncio.Task[int]]:
        """Start a task for each destination with something due that this worker is not
        already sending to, and return at once: a slow channel delays only itself."""
        room = self.concurrency - len(self._lanes)
        if room <= 0:
            return []
        now = self.clock()
        async with self.sessions() as session:
            due = (
                select(OutboxMessage.destination)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.not_before <= now,
                )
                .group_by(OutboxMessage.destination)
                .order_by(func.min(OutboxMessage.id))
                .limit(200)
            )
            destinations = list((await session.execute(due)).scalars())
        started = []
        for destination in destinations:
            if destination in self._lanes:
                continue
            if len(started) >= room:
                break
            task = asyncio.create_task(self._lane(destination), name=f"outbox {destination}")
            self._lanes[destination] = task
            task.add_done_callback(lambda _, d=destination: self._lanes.pop(d, None))
            started.append(task)
        return started

    async def close(self) -> None:
        """Stop the sends under way; their lanes' leases run out and another worker (or the
        next start) sends what they held."""
        tasks = list(self._lanes.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _lane(self, destination: str) -> int:
        if not await self._claim(destination):
            return 0
        try:
            return await self._deliver(destination)
        except Exception:
            log.exception("delivery to %s failed unexpectedly; retried later", for_log(destination))
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
        try:
            scheme = Destination.parse(destination).platform
        except BadDestination:
            scheme = ""
        channel = self.channels.get(scheme)
        now = self.clock()
        due = await self._due(destination, now, channel.max_batch if channel else 1)
        if due is None:
            await self._release(destination, now)
            return 0
        kind, ids, attempts, payloads, total = due
        began = self.clock()
        if not scheme:
            outcome = SendOutcome(Result.REJECTED, "not a destination")
        elif channel is None:
            outcome = SendOutcome(Result.FAILED, f"no way to send to '{scheme}' is configured")
        else:
            batch = Batch(destination, kind, payloads, total)
            outcome = await self._send(channel, batch, attempts)
        await self._settle(destination, kind, ids, outcome, attempts, began)
        return 1 if outcome.result is Result.SENT else 0

    def send_timeout(self, channel: Channel) -> float:
        """A send must end well inside the lane's lease, or another worker could take the lane
        over and send the same rows while this one still waits for an answer."""
        return min(channel.timeout, self.lease.total_seconds() / 2)

    async def _send(self, channel: Channel, batch: Batch, attempts: int) -> SendOutcome:
        seconds = self.send_timeout(channel)
        try:
            async with asyncio.timeout(seconds):
                return await channel.send(batch)
        except TimeoutError:
            return SendOutcome(Result.RETRY, f"no answer within {seconds:g}s")
        except Exception as exc:
            log.exception(
                "sending %s to %s raised %s (attempt %d)",
                batch.kind,
                for_log(batch.destination),
                type(exc).__name__,
                attempts,
            )
            result = Result.REJECTED if attempts >= MAX_UNEXPECTED else Result.RETRY
            return SendOutcome(result, f"{type(exc).__name__} while sending")

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
        """Record the outcome on the rows and free the lane, in one short transaction."""
        now = self.clock()
        rows = update(OutboxMessage).where(OutboxMessage.id.in_(ids))
        lane: dict = {"lease_until": None, "lease_owner": None, "not_before": now + self.min_gap}
        async with self.sessions() as session, session.begin():
            if outcome.result is Result.SENT:
                await session.execute(
                    rows.where(OutboxMessage.status == OutboxStatus.PENDING).values(
                        status=OutboxStatus.SENT, sent_at=now, attempts=attempts
                    )
                )
                # Paced from when this send began: the next one begins a second later at the
                # soonest, however long this one took or the next one waits to start.
                lane |= {"not_before": began + self.min_gap, "refusal_told_at": None}
            elif outcome.result is Result.RETRY:
                wait = outcome.retry_after
                if wait is None:
                    wait = min(2**attempts, MAX_BACKOFF_SECONDS)
                wait = max(wait, self.min_gap.total_seconds())
                lane["not_before"] = now + timedelta(seconds=wait)
                values = {"not_before": lane["not_before"], "last_error": outcome.reason[:500]}
                await session.execute(rows.values(attempts=attempts, **values))
                log.warning(
                    "delivery to %s will be retried in %.0fs: %s",
                    for_log(destination),
                    wait,
                    outcome.reason,
                )
            else:
                error = _failure(outcome)[:500]
                values = {"status": OutboxStatus.FAILED, "attempts": attempts, "last_error": error}
                await session.execute(rows.values(**values))
                await self._failed(session, destination, kind, ids, outcome, now)
            await session.execute(
                update(DeliveryLane)
                .where(
                    DeliveryLane.destination == destination, DeliveryLane.lease_owner == self.owner
                )
                .values(**lane)
            )

    async def _failed(
        self,
        session: AsyncSession,
        destination: str,
        kind: str,
        ids: list[int],
        outcome: SendOutcome,
        now: datetime,
    ) -> None:
        """A destination that is gone stops its subscriptions; a refused message fails alone,
        the log says which, and the admins hear of it once until a message there goes through."""
        if outcome.result is Result.FAILED:
            log.error("delivery to %s failed for good: %s", for_log(destination), outcome.reason)
        else:
            shown = ",".join(map(str, ids[:20])) + (" …" if len(ids) > 20 else "")
            log.error(
                "a %s message to %s was refused and dropped (%s); outbox rows %s",
                kind,
                for_log(destination),
                outcome.reason,
                shown,
            )
        if kind in (
            NOTICE,
            INVITATION,
            GROUP_INVITATION,
            JOIN_CONFIRM,
            LEARNER,
            REMINDER,
            SUMMARY,
        ):  # to a person, not a subscribed destination
            return
        try:
            where = Destination.parse(destination)
        except BadDestination:
            return
        if outcome.result is Result.FAILED:
            await admin_notices.destination_gone(session, where, outcome.reason, now)
            return
        told = await session.execute(
            update(DeliveryLane)
            .where(DeliveryLane.destination == destination, DeliveryLane.refusal_told_at.is_(None))
            .values(refusal_told_at=now)
        )
        if told.rowcount == 1:
            await admin_notices.message_refused(session, where, outcome.reason, now)


def _failure(outcome: SendOutcome) -> str:
    if outcome.result is Result.REJECTED:
        return f"message refused: {outcome.reason}"
    return outcome.reason


__all__ = ["ALERT", "NOTICE", "Batch", "Channel", "Delivery", "Result", "SendOutcome", "Sender"]
