"""Prometheus metrics: what an operator watches."""

from prometheus_client import Counter, Histogram

CLICKS = Counter("enrolbot_clicks_total", "Enrol clicks by outcome", ["platform", "outcome"])
COMMANDS = Counter("enrolbot_commands_total", "Admin commands by name", ["platform", "command"])
CLICK_SECONDS = Histogram(
    "enrolbot_click_seconds",
    "Time from receiving a click to having its answer",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
