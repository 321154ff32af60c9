"""Clicks that outlive the process that acknowledged them.

Slack wants a click acknowledged within three seconds, and a click is acknowledged once its
enrolment is committed, so a 200 means "done". A click that cannot finish within the budget (a
slow first lookup in Slack, another process holding SQLite's write lock) is written down
(handlers.clicks) before it is acknowledged, and crossed out once answered. When SQLite is too
busy to take even that row in time, the click is appended to a journal file beside the database
(bot.journal), synced to disk, before its acknowledgement. If the process dies in between, the
click is finished by its restart, or on PostgreSQL by any worker once the dead one's lease has
run out: enrolled (or refused) and answered, with the platform's `response_url` still valid for
30 minutes. Every worker sweeps (`Clicks.sweep`, an entry of the job runner in bot.scheduler) to
move the journal's clicks into the database, to renew its own clicks' leases and to take over
the dead ones'. Only a click that neither the database nor the journal could take in time (the
disk itself stalled) is acknowledged unrecorded, with a warning.
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

from bot.journal import ClickJournal, Entry
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
RECORD_SECONDS = 0.7
# Then the journal beside an SQLite database: a write and an fsync, bounded all the same.
JOURNAL_SECONDS = 0.5
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
        self.journal = ClickJournal.beside(runtime.engine)
        # This process's clicks in the journal, still being answered: not a dead process's.
        self._journaled: set[str] = set()

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
            if isinstance(recorded, int):
                await self._forget(recorded)
            elif recorded is not None:
                await self._cross_out(recorded)

    async def _record(self, click: Click, started: float) -> int | str | None:
        """The click's pending_click row, or failing that its line in the journal."""
        try:
            async with asyncio.timeout(
                BUDGET_SECONDS + RECORD_SECONDS - (time.monotonic() - started)
            ):
                pending = await self.runtime.transact(
                    lambda session: clicks.record(session, click, self.owner, LEASE)
                )
        except Exception:
            return await self._journal(click)
        self._mine.add(pending)
        return pending

    async def _journal(self, click: Click) -> str | None:
        journal = self.journal
        if journal is None:
            log.warning("a slow click could not be written down before its acknowledgement")
            return None
        entry = Entry(
            journal.new_id(), self.owner, dataclasses.replace(click, received_at=utcnow())
        )
        self._journaled.add(entry.id)
        try:
            # From a thread: an fsync waits for the disk. Past the bound the write goes on, and
            # the click is acknowledged all the same.
            async with asyncio.timeout(JOURNAL_SECONDS):
                await asyncio.to_thread(journal.append, entry)
        except Exception:
            log.warning("a slow click could not be written down before its acknowledgement")
        return entry.id

    async def _cross_out(self, entry_id: str) -> None:
        journal = self.journal
        if journal is None:
            return
        try:
            await asyncio.to_thread(journal.append_done, entry_id)
        except Exception:
            log.exception("an answered click could not be crossed out of the journal")
        finally:
            self._journaled.discard(entry_id)

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
        await self.move_journal()
        await self.sweep_once(all_others=first)
        self._swept = True

    async def move_journal(self) -> None:
        """Move the journal's clicks of dead processes into pending_click, then remove from it
        every line that is in the database or answered. A line moved twice (a crash between
        the insert and the rewrite) is written down once."""
        journal = self.journal
        if journal is None:
            return
        entries, done = await asyncio.to_thread(journal.read)
        moving = [e for e in entries if e.id not in done and e.id not in self._journaled]
        if moving:
            found = [e.click for e in moving]
            written = await self.runtime.transact(
                lambda session: clicks.record_unless_there(session, found, utcnow())
            )
            log.info("moved %d click(s) from the journal into the database", written)
        if moving or done:
            await asyncio.to_thread(journal.drop, {e.id for e in moving} | done)

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
