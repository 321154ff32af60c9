"""The load generator: signed clicks sent over HTTP in a closed loop, an open loop or at planned
times, and the latency statistics of what came back."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from bench.workspace import signed_headers


@dataclass
class Sample:
    start: float  # monotonic: when the request was sent (open loop: when it was due)
    latency: float  # seconds until the HTTP answer (the ack)
    status: int


@dataclass
class LoadResult:
    samples: list[Sample]
    began: float
    ended: float

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.status == 200]

    @property
    def errors(self) -> int:
        return len(self.samples) - len(self.ok)

    @property
    def rps(self) -> float:
        return len(self.ok) / max(self.ended - self.began, 1e-9)

    def pct(self, p: float) -> float:
        return percentile([s.latency for s in self.ok], p)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


BodyMaker = Callable[[int], str]


async def _send(session: aiohttp.ClientSession, url: str, body: str) -> int:
    async with session.post(url, data=body.encode(), headers=signed_headers(body)) as response:
        await response.read()
        return response.status


def _connector(limit: int) -> aiohttp.TCPConnector:
    return aiohttp.TCPConnector(limit=limit, force_close=False, ttl_dns_cache=None)


async def closed_loop(
    url: str, make_body: BodyMaker, *, concurrency: int, seconds: float, first: int = 0
) -> LoadResult:
    """`concurrency` clients each sending the next click as soon as the last was acked."""
    samples: list[Sample] = []
    counter = iter(range(first, first + 10**9))
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=_connector(concurrency), timeout=timeout) as s:
        began = time.monotonic()
        deadline = began + seconds

        async def client() -> None:
            while time.monotonic() < deadline:
                body = make_body(next(counter))
                t = time.monotonic()
                try:
                    status = await _send(s, url, body)
                except (aiohttp.ClientError, TimeoutError):
                    status = 0
                samples.append(Sample(t, time.monotonic() - t, status))

        await asyncio.gather(*(client() for _ in range(concurrency)))
        ended = time.monotonic()
    return LoadResult(samples, began, ended)


async def open_loop(
    url: str, make_body: BodyMaker, *, rate: float, seconds: float, first: int = 0
) -> LoadResult:
    """Clicks sent at a steady `rate` whatever the answers do (no coordinated omission: each
    latency counts from when its click was due, not from when it was sent)."""
    samples: list[Sample] = []
    timeout = aiohttp.ClientTimeout(total=30)
    total = round(rate * seconds)
    async with aiohttp.ClientSession(connector=_connector(1000), timeout=timeout) as s:
        began = time.monotonic() + 0.05

        async def one(i: int, due: float) -> None:
            body = make_body(first + i)
            try:
                status = await _send(s, url, body)
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            samples.append(Sample(due, time.monotonic() - due, status))

        tasks = []
        for i in range(total):
            due = began + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
        ended = max(began + total / rate, time.monotonic())
    return LoadResult(samples, began, ended)


async def planned(url: str, plan: list[tuple[float, str]]) -> tuple[list[Sample], float]:
    """Send each (offset in seconds, body) of `plan` at its time; the samples in plan order,
    and the monotonic time the plan started."""
    samples: list[Sample | None] = [None] * len(plan)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=_connector(1000), timeout=timeout) as s:
        began = time.monotonic() + 0.05

        async def one(i: int, due: float, body: str) -> None:
            try:
                status = await _send(s, url, body)
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            samples[i] = Sample(due, time.monotonic() - due, status)

        tasks = []
        for i, (offset, body) in enumerate(plan):
            due = began + offset
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due, body)))
        await asyncio.gather(*tasks)
    return [s for s in samples if s is not None], began
