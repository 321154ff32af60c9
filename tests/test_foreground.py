"""Background work waits for requests (bot.foreground): the outbox's sessions open between
requests, one at a time, and a request that never ends cannot hold them up for good."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from bot.foreground import Foreground


async def test_background_sessions_wait_for_requests_in_flight(sessions):
    foreground = Foreground(patience=60)
    background = foreground.background(sessions)
    order: list[str] = []

    async def work(name: str) -> None:
        async with background() as session:
            order.append(f"{name} opened")
            await session.execute(text("SELECT 1"))
            await asyncio.sleep(0)
            order.append(f"{name} closed")

    foreground.entered()  # a request is being answered
    tasks = [asyncio.create_task(work("a")), asyncio.create_task(work("b"))]
    for _ in range(20):
        await asyncio.sleep(0)
    assert order == []  # neither opened while the request was in flight
    order.append("request answered")
    foreground.left()
    await asyncio.gather(*tasks)
    assert order == ["request answered", "a opened", "a closed", "b opened", "b closed"]


async def test_background_goes_ahead_after_its_patience(sessions):
    foreground = Foreground(patience=0.01)
    foreground.entered()  # a request that takes longer than the patience
    async with foreground.background(sessions)() as session:
        assert await session.scalar(text("SELECT 1")) == 1
    foreground.left()
