"""Per-key rate limits: a token bucket per API key, in this process's memory (each worker
process counts its own requests, so N workers allow up to N times the rate)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until the bucket is full again (or, when refused, until one token)


class TokenBuckets:
    def __init__(self, rate: float, burst: int, clock=time.monotonic) -> None:
        self.rate = rate  # tokens added per second
        self.burst = burst  # the bucket's size
        self._clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}  # key id: (tokens, at)

    def take(self, key_id: int) -> Verdict:
        now = self._clock()
        tokens, at = self._buckets.get(key_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens < 1:
            self._buckets[key_id] = (tokens, now)
            wait = math.ceil((1 - tokens) / self.rate)
            return Verdict(False, self.burst, 0, max(1, wait))
        tokens -= 1
        self._buckets[key_id] = (tokens, now)
        full = math.ceil((self.burst - tokens) / self.rate)
        return Verdict(True, self.burst, int(tokens), full)
