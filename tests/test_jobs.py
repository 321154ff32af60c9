"""The job runner: a job runs on one worker at a time, under a database lease, and a killed
worker's job is taken over. Real runners on a real database; real processes killed with
SIGKILL."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.clicks import SWEEP_SECONDS
from bot.runtime import Runtime
from bot.scheduler import Job, Jobs, Runner, service_jobs
from bot.settings import Settings
from handlers import clicks
from handlers.clicks import Click
from handlers.identity import Account
from handlers.outbox import Delivery
from store.db import make_engine, make_sessionmaker
from store.models import JobLease, PendingClick

ROOT = Path(__file__).resolve().parent.parent


def test_a_job_needs_a_schedule_and_a_name_of_its_own():
    async def nothing() -> None:
        return None

    jobs = Jobs()
    jobs.add(Job("nightly", nothing, cron="0 2 * * *"))
    with pytest.raises(ValueError, match="already registered"):
        jobs.add(Job("nightly", nothing, every=1))
    with pytest.raises(ValueError, match="no schedule"):
        jobs.add(Job("never", nothing))
    assert [j.name for j in jobs] == ["nightly"]


async def test_two_runners_never_run_the_same_job_at_once(db_url):
    engines = [make_engine(db_url) for _ in range(2)]
    active, runs, most = [0], [], [0]

    async def work() -> None:
        active[0] += 1
        most[0] = max(most[0], active[0])
        await asyncio.sleep(0.03)  # the other runner tries meanwhile
        active[0] -= 1

    job = Job("work", work, every=1, lease=5)
    runners = [Runner(make_sessionmaker(e), Jobs(), owner=f"w{n}") for n, e in enumerate(engines)]

    async def keep_trying(runner: Runner) -> None:
        for _ in range(15):
            if await runner.run(job):
                runs.append(runner.owner)
            await asyncio.sleep(0.01)

    try:
        await asyncio.gather(*(keep_trying(r) for r in runners))
    finally:
        for e in engines:
            await e.dispose()
    assert most[0] == 1 and len(runs) >= 5
    # Each run ended with its lease let go, so the job did not stay with one worker for good.
    assert set(runs) == {"w0", "w1"}


async def test_a_run_that_lost_its_lease_to_another_worker_stops(sessions):
    stopped = asyncio.Event()

    async def long_job() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            stopped.set()

    job = Job("long", long_job, every=60, lease=0.6)
    runner = Runner(sessions, Jobs(), owner="a")
    run = asyncio.create_task(runner.run(job))
    await asyncio.sleep(0.1)
    async with sessions() as s, s.begin():  # as if it hung past its lease and "b" took over
        await s.execute(update(JobLease).where(JobLease.name == "long").values(owner="b"))
    await asyncio.wait_for(stopped.wait(), 3)
    assert await asyncio.wait_for(run, 3) is True


def _runs(log: Path) -> list[tuple[str, int, float]]:
    lines = log.read_text().splitlines() if log.exists() else []
    return [(w, int(pid), float(at)) for w, pid, at in (line.split() for line in lines)]


def _wait(log: Path, ready, timeout: float = 20) -> list[tuple[str, int, float]]:
    deadline = time.monotonic() + timeout
    while not ready(runs := _runs(log)):
        assert time.monotonic() < deadline, f"the workers did not get there: {runs}"
        time.sleep(0.05)
    return runs


def test_a_killed_workers_job_is_taken_over_and_never_runs_twice_at_once(db_url, tmp_path):
    log = tmp_path / "runs.log"
    lease = 2.0
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.job_worker", db_url, str(log), str(lease)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        _wait(log, lambda r: sum(w == "ready" for w, _, _ in r) == 2)
        # Kill whichever worker is running the job, in the middle of a run.
        runs = _wait(log, lambda r: r[-1][0] == "start")
        victim = runs[-1][1]
        os.kill(victim, signal.SIGKILL)
        killed_at = time.time()
        survivor = next(w for w in workers if w.pid != victim)
        runs = _wait(log, lambda r: sum(w == "end" and p == survivor.pid for w, p, _ in r) >= 2)
    finally:
        for w in workers:
            w.kill()
            w.wait()
    intervals = []
    for pid in {p for _, p, _ in runs}:
        starts = [at for w, p, at in runs if w == "start" and p == pid]
        ends = [at for w, p, at in runs if w == "end" and p == pid]
        if pid == victim and len(starts) == len(ends) + 1:
            ends.append(killed_at)  # the run the kill cut short
        intervals += list(zip(starts, ends, strict=False))
    intervals.sort()
    for (_, end), (start, _) in itertools.pairwise(intervals):
        assert start >= end, f"two runs at once: {intervals}"
    taken_over = min(
        at for w, p, at in runs if w == "start" and p == survivor.pid and at > killed_at
    )
    # Not before the dead worker's lease ran out, and soon after.
    assert 1.0 < taken_over - killed_at < lease + 3


def _click(subject: str) -> Click:
    return Click(Account("slack", "T1", subject), "token", f"https://hooks.test/{subject}")


async def _pending(runtime: Runtime) -> dict[str, tuple[str | None, datetime]]:
    async with runtime.transaction() as session:
        rows = await session.execute(
            select(PendingClick.subject, PendingClick.lease_owner, PendingClick.lease_until)
        )
        return {subject: (owner, until) for subject, owner, until in rows}


async def _record_clicks_of_gone_workers(runtime: Runtime) -> None:
    """Clicks written down by workers that are gone: one whose lease ran out, one whose lease
    still runs."""
    for subject, owner, seconds in (("expired", "dead", -1), ("leased", "other", 300)):
        click, lease = _click(subject), timedelta(seconds=seconds)
        await runtime.transact(lambda s, c=click, o=owner, t=lease: clicks.record(s, c, o, t))


def _service_jobs_sweeping(runtime: Runtime) -> Jobs:
    """The service's jobs, with the runtime's sweep of pending clicks as the only one."""
    return service_jobs(
        delivery=Delivery(runtime.sessions, {}, lease_seconds=30),
        delivery_seconds=0,
        delivery_lease_seconds=30,
        sqlite_file=None,
        sweep_clicks=runtime.clicks.sweep,
    )


async def _a_click_still_deciding(
    runtime: Runtime, subject: str
) -> tuple[asyncio.Task, asyncio.Event, list[str]]:
    """A click of this worker, acknowledged and still deciding until the event returned is set;
    the task handling it, that event, and the answers it gave."""
    decided, acked, answers = asyncio.Event(), asyncio.Event(), []

    async def acknowledge() -> None:
        acked.set()

    async def decide() -> str:
        await decided.wait()
        return "enrolled"

    async def answer(result: str) -> None:
        answers.append(result)

    handling = asyncio.create_task(
        runtime.clicks.handle(_click(subject), acknowledge, decide, answer)
    )
    await asyncio.wait_for(acked.wait(), 5)
    return handling, decided, answers


async def test_the_sweep_of_pending_clicks_is_a_job_that_finishes_dead_workers_clicks_and_keeps_its_own(
    db_url, backend
):
    runtime = Runtime.start(
        Settings(_env_file=None, ENROLBOT_SECRET_KEY="k" * 32, DATABASE_URL=db_url)
    )
    finished: list[str] = []

    async def finish(click: Click) -> None:  # what a platform does: decide, then answer
        finished.append(click.account.subject)

    runtime.clicks.finish_with("slack", finish)
    await _record_clicks_of_gone_workers(runtime)
    jobs = _service_jobs_sweeping(runtime)
    [sweep] = list(jobs)
    runner = Runner(runtime.sessions, jobs)
    runner.start()
    try:
        # At start, not an interval later. A lone SQLite worker finishes every click it finds;
        # on PostgreSQL a live lease may be another worker's, finishing it.
        expected = {"expired", "leased"} if backend == "sqlite" else {"expired"}
        deadline = time.monotonic() + SWEEP_SECONDS / 2
        while set(finished) != expected and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        assert sorted(finished) == sorted(expected)
        left = await _pending(runtime)
        assert set(left) == ({"leased"} if backend == "postgresql" else set())

        # A click of this worker, still deciding past the acknowledgement budget: written down,
        # and each sweep renews its lease, which no other worker may take meanwhile.
        handling, decided, answers = await _a_click_still_deciding(runtime, "mine")
        owner, until = (await _pending(runtime))["mine"]
        await asyncio.sleep(0.05)
        assert await runner.run(sweep)
        assert (await _pending(runtime))["mine"][0] == owner
        assert (await _pending(runtime))["mine"][1] > until
        assert "mine" not in finished
        decided.set()
        await asyncio.wait_for(handling, 5)
        assert answers == ["enrolled"]
        assert "mine" not in await _pending(runtime)
    finally:
        await runner.stop()
        await runtime.close()
