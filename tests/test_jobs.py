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
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.scheduler import Job, Jobs, Runner
from store.db import make_engine, make_sessionmaker
from store.models import JobLease

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
