"""Creations that arrive together are written together. An identity provider provisions with
many requests in flight; each POST /Users waits its turn for the write lock anyway, so the
requests that arrive while one batch is written form the next batch, with one set-based
write for all of them and no added wait (the first request of a quiet moment goes at once)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """`submit` an item; `write` runs for a batch of items and returns one result each (an
    exception for an item that failed on its own)."""

    def __init__(self, write: Callable[[list[T]], Awaitable[list[R | Exception]]], limit: int):
        self.write = write
        self.limit = limit
        self._waiting: list[tuple[T, asyncio.Future]] = []
        self._worker: asyncio.Task | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        result = await future
        if isinstance(result, Exception):
            raise result
        return result

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self.limit], self._waiting[self.limit :]
            results = await self._results([item for item, _ in batch])
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():  # its client may have gone
                    future.set_result(result)

    async def _results(self, items: list[T]) -> list[R | Exception]:
        try:
            return await self.write(items)
        except Exception as exc:
            if len(items) == 1:
                return [exc]
        # The batch failed as a whole (another writer raced one of them): each on its own, so
        # one bad request cannot fail the others.
        return [result for item in items for result in await self._results([item])]
