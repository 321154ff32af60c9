"""Clicks that outlive the process that acknowledged them.

Slack wants a click acknowledged within three seconds, and a click is acknowledged once its
enrolment is committed, so a 200 means "done". A click that cannot finish within the budget (a
slow first lookup in Slack, another process holding SQLite's write lock) is written down
(handlers.clicks) before it is acknowledged, and crossed out once answered. If the process dies
in between, the click is finished by its restart, or on PostgreSQL by any worker once the dead
one's lease has run out: enrolled (or refused) and answered, with the platform's `response_url`
still valid for 30 minutes. Every worker sweeps (`Clicks.sweep`, an entry of the job runner in
bot.scheduler) to renew its own clicks' leases and to take over the dead ones'.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from handlers import clicks
from handlers.clicks import Click
from store.models import utcnow

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

R = TypeVar("R")

# Slack wants an answer within 3 seconds; leave room for the network.
BUDGET_SECONDS = 1.5
# Past this, a click is acknowledged even if it could not be written down (the database has
# been refusing writes for longer than Slack waits): Slack would otherwise show an error.
RECORD_SECONDS = 1.0
LEASE = timedelta(seconds=15)
# Every worker sweeps this often: renews its own clicks' leases, takes over dead workers'.
SWEEP_SECONDS = 5.0
# A response_url takes answers for 30 minutes; later, a click is still enrolled, not answered.
REPLY_VALID = timedelta(minutes=30)

Finisher = Callable[[Click], Awaitable[None]]


class Clicks:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.owner = uuid.uuid4().hex
        self._finishers: dict[str, Finisher] = {}
        self._mine: set[int] = set()
        self._swept = False

    def finish_with(self, provider: str, finisher: Finisher) -> None:
        """How a platform finishes a click it did not acknowledge in this process: decide, then
        answer on `click.reply_to` (None when too late to answer)."""
        self._finishers[provider] = finisher

    async def handle(
        self,
        click: Click,
        ack: Callable[[], Awaitable[None]],
        decide: Callable[[], Awaitable[R]],
        answer: Callable[[R], Awaitable[None]],
    ) -> None:
        """Decide the click, acknowledge it once decided or once the budget runs out (written
        down first), then answer it."""
        started = time.monotonic()
        work = asyncio.ensure_future(decide())
        await asyncio.wait({work}, timeout=BUDGET_SECONDS)
        recorded = None
        if not work.done():
            recorded = await self._record(click, started)
        await ack()
        try:
            await answer(await work)
        finally:
            if recorded is not None:
                await self._forget(recorded)

    async def _record(self, click: Click, started: float) -> int | None:
        try:
            async with asyncio.timeout(
                BUDGET_SECONDS + RECORD_SECONDS - (time.monotonic() - started)
            ):
                pending = await self.runtime.transact(
                    lambda session: clicks.record(session, click, self.owner, LEASE)
                )
        except Exception:
            log.warning("a slow click could not be written down before its acknowledgement")
            return None
        self._mine.add(pending)
        return pending

    async def _forget(self, pending: int) -> None:
        self._mine.discard(pending)
        try:
            await self.runtime.transact(lambda session: clicks.forget(session, [pending]))
        except Exception:
            # Left in place, it is finished again once its lease runs out: a second answer
            # ("already enrolled") rather than none.
            log.exception("an answered click could not be crossed out")

    @property
    def sweeps(self) -> bool:
        """Whether this process finishes clicks at all: a platform said how (`finish_with`)."""
        return bool(self._finishers)

    async def sweep(self) -> None:
        """One run of the job runner's sweep of pending clicks (bot.scheduler), in every worker.
        A lone SQLite worker knows at its first sweep that every written-down click is a dead
        process's; on PostgreSQL another worker may be finishing it, so its lease decides. A
        first sweep that fails is a first sweep again next time."""
        first = not self._swept and self.runtime.engine.dialect.name == "sqlite"
        await self.sweep_once(all_others=first)
        self._swept = True

    async def sweep_once(self, *, all_others: bool = False) -> None:
        """Renew the leases of this worker's clicks; take over and finish dead workers'."""
        if self._mine:
            mine = list(self._mine)
            await self.runtime.transact(
                lambda session: clicks.renew(session, mine, self.owner, LEASE)
            )
        for provider, finisher in self._finishers.items():
            taken = await self.runtime.transact(
                lambda session, p=provider: clicks.take_over(
                    session, p, self.owner, LEASE, all_others=all_others
                )
            )
            if taken:
                log.info(
                    "finishing %d %s click(s) acknowledged before a restart", len(taken), provider
                )
                self._mine.update(pending for pending, _ in taken)
                await asyncio.gather(*(self._finish(finisher, *one) for one in taken))

    async def _finish(self, finisher: Finisher, pending: int, click: Click) -> None:
        if click.received_at is not None and utcnow() - click.received_at > REPLY_VALID:
            click = dataclasses.replace(click, reply_to="")
        try:
            await finisher(click)
        except Exception:
            log.exception("a click acknowledged before a restart could not be finished")
            self._mine.discard(pending)  # its lease runs out, and the next sweep tries again
            return
        await self._forget(pending)
