"""Jobs inside the service, under APScheduler: outbox delivery, every second."""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers.outbox import Delivery

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, delivery: Delivery, interval_seconds: float) -> None:
        # The job runs every second; its runs, and those skipped while one is still going,
        # are not news worth a log line each.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        self.delivery = delivery
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        # One run at a time per worker; a run that overruns is not stacked up behind itself.
        self._scheduler.add_job(
            self._deliver,
            "interval",
            seconds=interval_seconds,
            id="outbox",
            max_instances=1,
            coalesce=True,
        )

    async def _deliver(self) -> None:
        try:
            await self.delivery.run_once()
        except Exception:
            log.exception("outbox delivery run failed; the next run tries again")

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        self._scheduler.shutdown(wait=False)
