"""What every benchmark shares, under one name (`from bench import common as c`), so a script
reads `c.line`, `c.seed`, `c.closed_loop`... Each concern lives in a module of its own:

- bench.workspace: the Slack workspace's keys, admin, channels and people; signed clicks;
- bench.sizes: BENCH_... knobs for longer or shorter runs;
- bench.servers: starting `enrolbot serve`, the Slack stand-in and a minimal Bolt app as real
  processes on loopback in a scratch folder, `enrolbot` commands, the stand-in's counts, logs;
- bench.database: seeding people and items, reading a value back, PostgreSQL statements;
- bench.usage: CPU and memory of processes and of the machine;
- bench.load: the load generator (closed loop, open loop, planned) and latency statistics;
- bench.report: figures printed beside their targets, and the machine they were measured on.

Every server runs as a real process on loopback; the benchmark script itself is the load
generator. Processes, clean environments, free ports and seeding are the tests' own helpers
(tests/support/).
"""

from __future__ import annotations

from bench.database import db_scalar, pg_admin_url, pg_execute, seed
from bench.load import (
    BodyMaker,
    LoadResult,
    Sample,
    closed_loop,
    median,
    open_loop,
    percentile,
    planned,
)
from bench.report import header, line, machine, ms, revision, verdict
from bench.servers import (
    enrolbot_command,
    enrolbot_serve,
    enrolbot_settings,
    log_problems,
    minimal_app,
    run_enrolbot,
    running,
    show_problems,
    standin,
    standin_reset,
    standin_stats,
    wait_replies,
    workdir,
)
from bench.sizes import knob, scale
from bench.usage import (
    CLK_TCK,
    cpu_seconds,
    machine_cpu_seconds,
    own_cpu_seconds,
    process_tree,
    rss_mb,
)
from bench.workspace import (
    ADMIN_EMAIL,
    ADMIN_ID,
    ALERT_CHANNEL,
    BOT_TOKEN,
    CLICK_CHANNEL,
    SECRET_KEY,
    SIGNING_SECRET,
    TEAM,
    click_body,
    email_of,
    signed_headers,
    user_id,
)
from tests.support.processes import REPO, Process, env

__all__ = [
    "ADMIN_EMAIL",
    "ADMIN_ID",
    "ALERT_CHANNEL",
    "BOT_TOKEN",
    "CLICK_CHANNEL",
    "CLK_TCK",
    "REPO",
    "SECRET_KEY",
    "SIGNING_SECRET",
    "TEAM",
    "BodyMaker",
    "LoadResult",
    "Process",
    "Sample",
    "click_body",
    "closed_loop",
    "cpu_seconds",
    "db_scalar",
    "email_of",
    "enrolbot_command",
    "enrolbot_serve",
    "enrolbot_settings",
    "env",
    "header",
    "knob",
    "line",
    "log_problems",
    "machine",
    "machine_cpu_seconds",
    "median",
    "minimal_app",
    "ms",
    "open_loop",
    "own_cpu_seconds",
    "percentile",
    "pg_admin_url",
    "pg_execute",
    "planned",
    "process_tree",
    "revision",
    "rss_mb",
    "run_enrolbot",
    "running",
    "scale",
    "seed",
    "show_problems",
    "signed_headers",
    "standin",
    "standin_reset",
    "standin_stats",
    "user_id",
    "verdict",
    "wait_replies",
    "workdir",
]
