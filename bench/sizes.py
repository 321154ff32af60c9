"""How big and how long a benchmark runs: BENCH_... knobs from the environment."""

from __future__ import annotations

import os


def knob(name: str, default: float) -> float:
    """A size from the environment (BENCH_...), for longer or shorter runs."""
    value = os.environ.get(name)
    return float(value) if value else default


def scale() -> float:
    """BENCH_SCALE multiplies every benchmark's duration and size (default 1)."""
    return knob("BENCH_SCALE", 1.0)
