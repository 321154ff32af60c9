"""Sliding-window rate limits for public pages, kept in this process's memory.

In memory, so each worker process counts on its own: with N workers a client may get up to N
times the limit through, spread over them. That is enough to make guessing a registration
token hopeless (each try is one of ~8·10^14 codes) and to stop a script from signing up
thousands of people; it needs no shared store.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    """At most `limit` attempts per key in any `seconds`-long window."""

    def __init__(
        self,
        limit: int,
        seconds: float,
        *,
        max_keys: int = 20_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.seconds = seconds
        self.max_keys = max_keys
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}

    def attempt(self, key: str) -> float:
        """Count an attempt by `key`: 0 when it may go ahead, or else the seconds until it may
        (the refused attempt is not counted)."""
        now = self.clock()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._forget_idle(now)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self.seconds:
            hits.popleft()
        if len(hits) >= self.limit:
            return hits[0] + self.seconds - now
        hits.append(now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        """Drop keys with no attempt inside the window; if every key is busy (a flood of
        addresses), start afresh rather than grow without bound."""
        idle = [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.seconds]
        for key in idle:
            del self._hits[key]
        if len(self._hits) >= self.max_keys:
            self._hits.clear()
