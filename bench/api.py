"""The REST API on a running `enrolbot serve` (SQLite), by BENCH_API_CONCURRENCY clients
(default 4), every POST with its own Idempotency-Key:

1. baseline: the least authenticated call, GET /api/v1/catalog/items/{slug} (the key checked,
   one row read);
2. BENCH_API_SINGLES (2,000) completions one per request (POST /api/v1/completions);
3. BENCH_API_COMPLETIONS (10,000) completions in batches of BENCH_API_BATCH (500) (POST
   /api/v1/completions/batch) — the target: <= 20 s;
4. the first batches sent again with the same keys: replayed, nothing new.

The people are enrolled in nothing beforehand, so each completion also enrols them first
(through handlers.enrol.enrol), the API's worst case. Rules' recurrence (the next period that a
completion opens) is not on main yet: these are plain completions.

    python -m bench.api
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from bench import common as c
from store.models import Enrolment, EnrolmentStatus

COMPLETIONS = int(c.knob("BENCH_API_COMPLETIONS", 10_000) * c.scale())
SINGLES = int(c.knob("BENCH_API_SINGLES", 2_000) * c.scale())
BATCH = int(c.knob("BENCH_API_BATCH", 500))
CONCURRENCY = int(c.knob("BENCH_API_CONCURRENCY", 4))
ITEM = "bench-0"
TARGET = 20.0


async def _load(
    url: str, key: str, requests: list[tuple[str, str, dict | None]], first: int = 0
) -> tuple:
    """Send every (method, path, body) with CONCURRENCY clients; wall seconds, latencies and
    statuses."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = iter(enumerate(requests))
    headers = {"Authorization": f"Bearer {key}"}
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as session:

        async def client() -> None:
            for n, (method, path, body) in queue:
                extra = {"Idempotency-Key": f"bench-{first + n}"} if method == "POST" else {}
                began = time.monotonic()
                try:
                    async with session.request(
                        method, path, json=body, headers=headers | extra
                    ) as response:
                        await response.read()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError):
                    status = 0
                latencies.append(time.monotonic() - began)
                statuses[status] = statuses.get(status, 0) + 1

        began = time.monotonic()
        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        return time.monotonic() - began, latencies, statuses


def _body(n: int) -> dict:
    return {
        "email": c.email_of(n),
        "item": ITEM,
        "completed_at": "2026-11-30T09:00:00Z",
        "score": n % 101,
    }


def _batches(first: int, count: int) -> list[tuple[str, str, dict]]:
    return [
        ("POST", "/api/v1/completions/batch", {"completions": [_body(n) for n in chunk]})
        for chunk in (
            range(start, min(start + BATCH, first + count))
            for start in range(first, first + count, BATCH)
        )
    ]


async def _measure(url: str, key: str) -> dict:
    figures: dict = {}
    base = [("GET", f"/api/v1/catalog/items/{ITEM}", None)] * SINGLES
    figures["base"] = await _load(url, key, base)
    singles = [("POST", "/api/v1/completions", _body(n)) for n in range(SINGLES)]
    figures["singles"] = await _load(url, key, singles)
    # Idempotency keys are per request number: the batches' keys follow the singles'.
    figures["batches"] = await _load(url, key, _batches(SINGLES, COMPLETIONS), first=SINGLES)
    figures["again"] = await _load(url, key, _batches(SINGLES, BATCH * 4), first=SINGLES)
    return figures


async def main() -> None:
    c.header(f"api: {COMPLETIONS:,} completions through /api/v1 (SQLite)")
    with c.workdir("bench-api-") as wd:
        db_url = f"sqlite:///{Path(wd) / 'api.db'}"
        settings = {
            "DATABASE_URL": db_url,
            "ENROLBOT_SECRET_KEY": c.SECRET_KEY,
            # One client pushing a backlog: the per-key limit is lifted for the measurement.
            "ENROLBOT_API_RATE_PER_SECOND": "1000000",
            "ENROLBOT_API_RATE_BURST": "1000000",
        }
        c.run_enrolbot(wd, settings, "db", "upgrade")
        await c.seed(db_url, users=SINGLES + COMPLETIONS, items=1, warm=False)
        scopes = ("--scope", "completions:write", "--scope", "catalog:read")
        made = c.run_enrolbot(wd, settings, "apikey", "create", "bench", *scopes)
        key = made.splitlines()[-1]
        server = c.enrolbot_serve(wd, settings)
        with c.running(server):
            server.start()
            figures = await _measure(server.url, key)
        c.show_problems(server)
        done = await c.db_scalar(
            db_url,
            select(func.count())
            .select_from(Enrolment)
            .where(Enrolment.status == EnrolmentStatus.COMPLETED),
        )
    _report(figures, done)


def _report(figures: dict, done: int) -> None:
    base_s, base_lat, base_status = figures["base"]
    one_s, one_lat, one_status = figures["singles"]
    took, lat, statuses = figures["batches"]
    again_s, _, again = figures["again"]
    base_rate, one_rate = SINGLES / base_s, SINGLES / one_s
    target = TARGET * COMPLETIONS / 10_000
    print(f"\n  {CONCURRENCY} clients, each POST with its own Idempotency-Key:", flush=True)
    c.line("baseline: GET one catalog item", f"{base_rate:,.0f}/s")
    print(f"      (p99 {c.ms(c.percentile(base_lat, 99))}; answers {base_status})")
    c.line(f"{SINGLES:,} completions, one per request", f"{one_s:.1f} s, {one_rate:,.0f}/s")
    print(
        f"      (p50 {c.ms(c.percentile(one_lat, 50))}, p99 {c.ms(c.percentile(one_lat, 99))};"
        f" answers {one_status}; ratio to baseline GETs {one_rate / base_rate:.2f})"
    )
    c.line(
        f"{COMPLETIONS:,} completions in batches of {BATCH}",
        f"{took:.1f} s",
        f"<= {target:.0f} s",
        took <= target,
    )
    print(
        f"      ({COMPLETIONS / took:,.0f}/s; ratio to target {took / target:.2f}; batch p99 "
        f"{c.ms(c.percentile(lat, 99))}; answers {statuses})"
    )
    total = SINGLES + COMPLETIONS
    c.line("completed enrolments in the database", f"{done:,}", f"{total:,}", done == total)
    c.line(
        "4 batches sent again with the same keys",
        f"{again_s:.2f} s, answers {again}",
        "replayed, nothing new",
        again == {200: 4} and done == total,
    )


if __name__ == "__main__":
    asyncio.run(main())
