"""The job runner: every scheduled job of the service in one registry, each run under a lease.

A job is an entry: a name, a schedule (every N seconds, or a crontab line in UTC), what to run,
and its lease. With several workers (processes, hosts) on PostgreSQL, a run begins only once
its worker holds the job's lease in the database (store.leases), so exactly one worker runs a
job at a time. A running job renews its lease every third of it; a worker that crashes stops
renewing, its lease runs out, and the next worker whose schedule fires takes the job over. A
worker that finds it has lost its lease (it hung past it) stops its run. Hosts' clocks must
agree to well within a lease (NTP does).

Adding a job is one entry in `service_jobs`, e.g.

    jobs.add(Job("nightly-reconcile", reconcile, cron="0 2 * * *", lease=600))

A job with `lease=None` runs in every process for that process alone (the SQLite checkpoint:
each process copies its own write-ahead log; the sweep of pending clicks: each worker renews
its own clicks' leases, and claims others' click by click under their leases).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clicks import SWEEP_SECONDS
from handlers.outbox import Delivery
from store import leases
from store.db import checkpoint
from store.models import utcnow

log = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 2
HOME_REFRESH_SECONDS = 2  # how soon a Home tab shows a change (bot.slack.home)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], Awaitable[object]]
    every: float | None = None  # seconds between runs
    cron: str | None = None  # or a crontab line, in UTC
    lease: float | None = 60.0  # seconds; None: every process runs its own, unleased
    at_start: bool = False  # a first run as the runner starts, not one interval later

    def trigger(self) -> IntervalTrigger | CronTrigger:
        if self.cron:
            return CronTrigger.from_crontab(self.cron, timezone="UTC")
        if not self.every:
            raise ValueError(f"job {self.name} has no schedule: give every= or cron=")
        return IntervalTrigger(seconds=self.every, timezone="UTC")


class Jobs:
    """The registry: each job once, by name."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}

    def add(self, job: Job) -> Job:
        if job.name in self._jobs:
            raise ValueError(f"a job named {job.name} is already registered")
        job.trigger()  # a job without a usable schedule fails at start, not at its first run
        self._jobs[job.name] = job
        return job

    def __iter__(self) -> Iterator[Job]:
        return iter(self._jobs.values())

    def __len__(self) -> int:
        return len(self._jobs)


class Runner:
    """Runs the registry's jobs on their schedules in this process, each under its lease."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        jobs: Jobs,
        *,
        owner: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.jobs = jobs
        self.owner = owner or uuid.uuid4().hex[:16]
        self.clock = clock
        self._running: set[asyncio.Task] = set()
        # The jobs run every second or two; their runs, and those skipped while one is still
        # going, are not news worth a log line each.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        self._scheduler = AsyncIOScheduler(timezone="UTC")

    async def run(self, job: Job) -> bool:
        """One run of a job: False when another worker holds its lease."""
        if job.lease is None:
            await self._tracked(job)
            return True
        lease = timedelta(seconds=job.lease)
        now = self.clock()
        if not await leases.take(self.sessions, job.name, self.owner, now, now + lease):
            return False
        work = self._task(job)
        keeper = asyncio.create_task(self._keep(job, work, now + lease))
        try:
            # Waits without raising when the keeper stops the work for a lost lease.
            await _quietly_cancelled(work)
        finally:
            keeper.cancel()
            work.cancel()  # still running only when this run itself was cancelled (shutdown)
            with contextlib.suppress(Exception):
                await leases.release(self.sessions, job.name, self.owner, self.clock())
        return True

    def _task(self, job: Job) -> asyncio.Task:
        """A run as a task of its own, which `stop` cancels."""
        work = asyncio.create_task(self._guarded(job), name=f"job {job.name}")
        self._running.add(work)
        work.add_done_callback(self._running.discard)
        return work

    async def _tracked(self, job: Job) -> None:
        work = self._task(job)
        try:
            await _quietly_cancelled(work)
        finally:
            work.cancel()  # still running only when this run itself was cancelled (shutdown)

    async def _guarded(self, job: Job) -> None:
        try:
            await job.run()
        except Exception:
            log.exception("job %s failed; its next run tries again", job.name)

    async def _keep(self, job: Job, work: asyncio.Task, until: datetime) -> None:
        """Renew the lease while the job runs; stop the job if the lease is lost."""
        assert job.lease is not None
        lease = timedelta(seconds=job.lease)
        while not work.done():
            await asyncio.sleep(job.lease / 3)
            try:
                if await leases.renew(self.sessions, job.name, self.owner, self.clock() + lease):
                    until = self.clock() + lease
                    continue
            except Exception:
                log.warning("could not renew the lease of job %s", job.name, exc_info=True)
                if self.clock() < until:
                    continue
            log.error("job %s lost its lease to another worker; this run stops", job.name)
            work.cancel()
            return

    def start(self) -> None:
        for job in self.jobs:
            # One run at a time per worker; a run that overruns is not stacked up behind itself.
            self._scheduler.add_job(
                partial(self.run, job),
                job.trigger(),
                id=job.name,
                max_instances=1,
                coalesce=True,
                **({"next_run_time": self.clock()} if job.at_start else {}),
            )
        self._scheduler.start()

    async def stop(self) -> None:
        self._scheduler.shutdown(wait=False)
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)


async def _quietly_cancelled(work: asyncio.Task) -> None:
    """Wait for a run. Cancelled, the process is stopping: the run ends without the traceback
    APScheduler would log for a cancelled job (the finally blocks still cancel and release)."""
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait({work})


# What a feature's job runs, or None when the feature is off.
Runs = Callable[[], Awaitable[object]] | None


def service_jobs(
    *,
    delivery: Delivery,
    delivery_seconds: float,
    delivery_lease_seconds: float,
    sqlite_file: str | None,
    sweep_clicks: Callable[[], Awaitable[None]] | None = None,
    directory_sync: Callable[[], Awaitable[object]] | None = None,
    rules_follow: Callable[[], Awaitable[object]] | None = None,
    rules_reconcile: Callable[[], Awaitable[object]] | None = None,
    api_purge: Callable[[], Awaitable[object]] | None = None,
    rule_periods: Callable[[], Awaitable[object]] | None = None,
    moodle_poll: Callable[[], Awaitable[object]] | None = None,
    moodle_poll_seconds: float = 300.0,
    reminders: Callable[[], Awaitable[object]] | None = None,
    home_refresh: Callable[[], Awaitable[object]] | None = None,
) -> Jobs:
    """Every job `enrolbot serve` runs. Digests are outbox rows due at the end of their hour or
    day, so the outbox job sends them when they fall due."""
    jobs = Jobs()
    if sweep_clicks:
        # Clicks acknowledged before they were committed (bot.clicks). Every worker sweeps, for
        # itself: it renews the leases of its own clicks, which only it can, and takes over the
        # clicks whose worker's lease ran out, one claim per click. A first sweep at start
        # finishes what a restart left behind.
        jobs.add(
            Job("pending-clicks", sweep_clicks, every=SWEEP_SECONDS, lease=None, at_start=True)
        )
    if delivery_seconds:
        # Starts a send per channel with something due and returns: slow channels wait alone.
        jobs.add(
            Job("outbox", delivery.dispatch, every=delivery_seconds, lease=delivery_lease_seconds)
        )
    _add_feature_jobs(
        jobs,
        directory_sync=directory_sync,
        rules_follow=rules_follow,
        rules_reconcile=rules_reconcile,
        api_purge=api_purge,
        rule_periods=rule_periods,
        moodle_poll=moodle_poll,
        moodle_poll_seconds=moodle_poll_seconds,
        reminders=reminders,
        home_refresh=home_refresh,
    )
    if sqlite_file:
        # From a thread: SQLite statements run on the event loop, and a checkpoint there (which
        # syncs the file to disk) would hold up every request for as long as the disk takes.
        checkpoint_file = partial(asyncio.to_thread, checkpoint, sqlite_file)
        jobs.add(Job("sqlite-checkpoint", checkpoint_file, every=CHECKPOINT_SECONDS, lease=None))
    return jobs


def _add_feature_jobs(
    jobs: Jobs,
    *,
    directory_sync: Runs,
    rules_follow: Runs,
    rules_reconcile: Runs,
    api_purge: Runs,
    rule_periods: Runs,
    moodle_poll: Runs,
    moodle_poll_seconds: float,
    reminders: Runs,
    home_refresh: Runs,
) -> None:
    """The jobs of the features that are on (each given only when its settings turn it on)."""
    if directory_sync:
        # Repairs what missed events left behind; the sync itself holds to the removal
        # threshold (handlers.directory.sync). An hour's lease: a large source pages slowly.
        jobs.add(Job("directory-sync", directory_sync, cron="0 2 * * *", lease=3600))
    if rules_follow:
        # Runs for as long as its worker holds the lease, woken by each committed directory
        # change; a worker that dies stops renewing, and another's next trigger takes over.
        jobs.add(Job("rules-follow", rules_follow, every=2, lease=30, at_start=True))
    if rules_reconcile:
        # After the directory sync: every rule against everyone, repairing what was missed.
        jobs.add(Job("rules-reconcile", rules_reconcile, cron="30 3 * * *", lease=3600))
    if api_purge:
        # The API's kept answers for Idempotency-Key retries, once they are a week old.
        jobs.add(Job("api-idempotency-purge", api_purge, cron="15 4 * * *", lease=600))
    if rule_periods:
        # Just after midnight UTC, the day enrolments made ahead (--enrol-days-before) show;
        # also opens any next period a completion missed. Idempotent, so it also runs at start:
        # a service that was down at 00:05 shows the day's enrolments when it comes back.
        jobs.add(Job("rule-periods", rule_periods, cron="5 0 * * *", lease=3600, at_start=True))
    if moodle_poll:
        # Completions read from Moodle, a bounded number per run; each call times out, so a
        # run ends well inside its lease.
        jobs.add(Job("moodle-completions", moodle_poll, every=moodle_poll_seconds, lease=600))
    if reminders:
        # Every quarter hour: each person's reminders fall due on their own date and are held
        # to their 08:00-20:00 (handlers.reminders); what was queued is never queued again.
        jobs.add(Job("reminders", reminders, cron="*/15 * * * *", lease=600))
    if home_refresh:
        # The Slack Home tabs whose My learning changed, whichever process changed it
        # (handlers.refresh): every 2 s, so a change shows within a few seconds.
        jobs.add(Job("home-refresh", home_refresh, every=HOME_REFRESH_SECONDS, lease=60))
