"""The CPU of one click's database work, in process: `Runtime.enrol`, which the Slack listener
of Enrol clicks calls, against a baseline in the same process: the least transaction (a session
that runs `SELECT 1` and commits) on the same engine. No HTTP, no Bolt: this is the part the
product owns.

Known people (their identities stored), each enrolling once in one item, on a SQLite file;
BENCH_CLICK_COST_URL runs it on another database (a PostgreSQL URL, say: its tables are made and
dropped here). BENCH_CLICKS (default 3000) clicks, one at a time.

    python -m bench.click_cost
"""

from __future__ import annotations

import asyncio
import os
import time

from bench import common as c

CLICKS = int(c.knob("BENCH_CLICKS", 3000) * c.scale())


async def measure(url: str) -> tuple[float, float]:
    from sqlalchemy import text

    from bot.runtime import Runtime
    from bot.settings import Settings
    from handlers.enrol import Outcome
    from handlers.identity import Account, Profile
    from store.db import make_engine
    from store.models import Base

    settings = Settings(_env_file=None, DATABASE_URL=url, ENROLBOT_SECRET_KEY=c.SECRET_KEY)
    url = settings.database_url  # with the async driver, as the service would use it
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    await engine.dispose()
    [token] = await c.seed(url, users=CLICKS, items=1, warm=True)
    runtime = Runtime.start(settings)

    async def never() -> Profile:
        raise AssertionError("a known person was looked up")

    async def click(n: int) -> None:
        result = await runtime.enrol(Account("slack", c.TEAM, c.user_id(n)), token, never)
        assert result.outcome is Outcome.ENROLLED, result.outcome

    async def least(_: int) -> None:
        async with runtime.transaction() as session:
            await session.execute(text("SELECT 1"))

    try:
        await least(0)  # the pool's connection, the organisation cache
        figures = []
        for work in (least, click):
            started = time.process_time()
            for n in range(CLICKS):
                await work(n)
            figures.append((time.process_time() - started) / CLICKS)
        return figures[0], figures[1]
    finally:
        async with runtime.engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
        await runtime.close()


def main() -> None:
    c.header("Click cost: one click's database work in process, against SELECT 1")
    with c.workdir("bench-click-cost-") as wd:
        url = os.environ.get("BENCH_CLICK_COST_URL") or f"sqlite:///{wd / 'enrolbot.db'}"
        print(f"   {CLICKS} clicks of known people, one at a time, on {url.split(':')[0]}")
        least, click = asyncio.run(measure(url))
    print("\n  figures:")
    c.line("SELECT 1 in a transaction (baseline), CPU", f"{least * 1000:.2f} ms")
    c.line("an Enrol click's transaction, CPU", f"{click * 1000:.2f} ms")
    c.line("ratio click / baseline", f"{click / least:.1f}")


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"  (ran in {time.monotonic() - started:.0f}s)")
