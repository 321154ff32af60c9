"""P4, start-up and memory: the time from launching `enrolbot serve` to its first 200 from
/healthz, and its resident memory once idle, with Slack on (against the stand-in) and a SQLite
file that is already migrated, as after a restart. BENCH_STARTS starts (default 5); the median
counts. Also shown: one first start on an empty file (it creates the schema), and the slowest
imports (`python -X importtime`), which are where start-up time goes.

    python -m bench.startup
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time

from bench import common as c

STARTS = int(c.knob("BENCH_STARTS", 5))
IDLE_SECONDS = c.knob("BENCH_IDLE_SECONDS", 5)


def start_once(wd, settings) -> tuple[float, float, float]:
    """(seconds to the first 200, idle RSS in MB, RSS after some requests in MB)."""
    app = c.enrolbot_serve(wd, settings)
    with c.running(app):
        app.start(timeout=60)
        ready = app.ready_at - app.started_at
        time.sleep(IDLE_SECONDS)
        idle = c.rss_mb(app.pid)
        import httpx

        with httpx.Client() as client:
            for _ in range(50):
                client.get(f"{app.url}/healthz")
                client.get(f"{app.url}/metrics")
        busy = c.rss_mb(app.pid)
    return ready, idle, busy


def slowest_imports(count: int = 12) -> list[tuple[float, str]]:
    """The modules whose import (with what they import) takes longest, from -X importtime."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import bot.cli, bot.app, bot.slack.app"],
        cwd=c.REPO,
        env=c.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for row in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)", row)
        if match and len(match.group(2)) <= 2:  # top-level and their direct imports
            rows.append((int(match.group(1)) / 1e6, match.group(3)))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    c.header("P4 start-up and memory: enrolbot serve on SQLite, Slack on")
    with c.workdir("bench-startup-") as wd:
        standin = c.standin(wd).start()
        with c.running(standin):
            db_url = f"sqlite:///{wd / 'enrolbot.db'}"
            settings = c.enrolbot_settings(db_url, standin.url)
            c.run_enrolbot(wd, settings, "db", "upgrade")
            asyncio.run(c.seed(db_url, users=100, items=5, warm=True))
            runs = [start_once(wd, settings) for _ in range(STARTS)]
            fresh_url = f"sqlite:///{wd / 'empty.db'}"
            fresh = start_once(wd, c.enrolbot_settings(fresh_url, standin.url))

    ready = [r[0] for r in runs]
    idle = [r[1] for r in runs]
    busy = [r[2] for r in runs]
    print(f"  starts (s): {', '.join(f'{x:.2f}' for x in ready)}")
    print("\n  slowest imports (cumulative seconds, one run):")
    for seconds, module in slowest_imports():
        print(f"    {seconds:6.3f}  {module}")
    print("\n  figures:")
    start = c.median(ready)
    c.line("start to first 200 /healthz (median)", f"{start:.2f} s", "<= 1.5 s", start <= 1.5)
    c.line("  fastest / slowest start", f"{min(ready):.2f} / {max(ready):.2f} s")
    c.line("  first start on an empty file (creates schema)", f"{fresh[0]:.2f} s")
    rss = c.median(idle)
    c.line(f"idle RSS after {IDLE_SECONDS:.0f}s (median)", f"{rss:.0f} MB", "<= 120 MB", rss <= 120)
    c.line("RSS after 100 requests (median)", f"{c.median(busy):.0f} MB")


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"  (ran in {time.monotonic() - started:.0f}s)")
