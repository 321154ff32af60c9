"""Repeated warnings are written once per minute, with a count of those left out.

Anyone on the internet can make the bot warn: 1,000 requests with bad tokens wrote 200 KB of
identical warnings, enough to fill a disk or bury the one line that mattered. A warning of a
kind (same logger, level and message template) is written once per interval; the next one
written after it says how many were left out in between.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

INTERVAL_SECONDS = 60.0
# Keys are message templates, a bounded set; a message built with an f-string would make each
# one new, so old entries are dropped past this many.
_MAX_KINDS = 1000

_Kind = tuple[str, int, str]


class RepeatedWarnings(logging.Filter):
    def __init__(
        self, interval: float = INTERVAL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        # kind -> [when the last one was written, how many have been left out since]
        self._kinds: dict[_Kind, list[float]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        kind = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        with self._lock:
            seen = self._kinds.get(kind)
            if seen is not None and now - seen[0] < self.interval:
                seen[1] += 1
                return False
            left_out = int(seen[1]) if seen else 0
            if len(self._kinds) >= _MAX_KINDS:
                self._forget_before(now - self.interval)
            self._kinds[kind] = [now, 0]
        if left_out:
            # Appended to the template, so it holds no %: the record's own args still fit it.
            record.msg = f"{record.msg} [{left_out} more like this not logged since the last]"
        return True

    def _forget_before(self, cutoff: float) -> None:
        for kind in [k for k, (written, left) in self._kinds.items() if written < cutoff]:
            del self._kinds[kind]
        while len(self._kinds) >= _MAX_KINDS:
            del self._kinds[next(iter(self._kinds))]


def limit_repeated_warnings(*logger_names: str) -> None:
    """Put a RepeatedWarnings filter on every handler of the root logger and of the named ones
    (uvicorn's loggers write through their own handlers), once each."""
    for name in ("", *logger_names):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RepeatedWarnings) for f in handler.filters):
                handler.addFilter(RepeatedWarnings())
