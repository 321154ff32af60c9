"""Waiting for what the bot does in the background (alerts, notices), by polling what the
stand-ins received."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_messages(
    received: Callable[[], list[T]], where: str, count: int, timeout: float
) -> list[T]:
    """What `received` returns once it holds `count` messages; fails after `timeout` seconds
    saying how many reached `where`."""
    deadline = time.monotonic() + timeout
    while len(got := received()) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{where} got {len(got)} messages, not {count}, in {timeout}s")
        time.sleep(0.05)
    return got


def wait_until(done: Callable[[], bool], what: str, timeout: float) -> None:
    """Return once `done()` is true; fail after `timeout` seconds saying `what` did not happen."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen in {timeout}s")
        time.sleep(0.1)
