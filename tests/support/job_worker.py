"""A worker process for the job runner's tests: the real runner, one leased job that notes in a
file when each of its runs starts and ends.

    python -m tests.support.job_worker DATABASE_URL LOG_FILE LEASE_SECONDS
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

from bot.scheduler import Job, Jobs, Runner
from store.db import make_engine, make_sessionmaker

RUN_SECONDS = 1.0


def note(path: str, what: str) -> None:
    # One short append per line: lines from several processes never interleave.
    with open(path, "a") as f:
        f.write(f"{what} {os.getpid()} {time.time():.4f}\n")


async def main(url: str, path: str, lease: float) -> None:
    engine = make_engine(url)

    async def beat() -> None:
        note(path, "start")
        await asyncio.sleep(RUN_SECONDS)
        note(path, "end")

    jobs = Jobs()
    jobs.add(Job("beat", beat, every=0.2, lease=lease))
    runner = Runner(make_sessionmaker(engine), jobs)
    runner.start()
    note(path, "ready")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
