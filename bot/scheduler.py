"""Jobs inside the service, under APScheduler: outbox delivery every second, and on SQLite the
write-ahead log's checkpoint every few seconds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers.outbox import Delivery
from store.db import checkpoint

log = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 2


class Scheduler:
    def __init__(self) -> None:
        # The jobs run every second or two; their runs, and those skipped while one is still
        # going, are not news worth a log line each.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        self._scheduler = AsyncIOScheduler(timezone="UTC")

    def _every(self, seconds: float, job: Callable[[], Awaitable[None]], name: str) -> None:
        # One run at a time per worker; a run that overruns is not stacked up behind itself.
        self._scheduler.add_job(
            job, "interval", seconds=seconds, id=name, max_instances=1, coalesce=True
        )

    def deliver(self, delivery: Delivery, seconds: float) -> None:
        async def run() -> None:
            try:
                await delivery.run_once()
            except Exception:
                log.exception("outbox delivery run failed; the next run tries again")

        self._every(seconds, run, "outbox")

    def checkpoint_sqlite(self, path: str) -> None:
        """Copy the write-ahead log into the database file from a thread: SQLite statements
        run on the event loop, and a checkpoint there (which syncs the file to disk) would hold
        up every request for as long as the disk takes."""

        async def run() -> None:
            try:
                await asyncio.to_thread(checkpoint, path)
            except Exception:
                log.exception("SQLite checkpoint failed; the next run tries again")

        self._every(CHECKPOINT_SECONDS, run, "sqlite-checkpoint")

    @property
    def has_jobs(self) -> bool:
        return bool(self._scheduler.get_jobs())

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        self._scheduler.shutdown(wait=False)
