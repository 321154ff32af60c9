"""Clicks on a running bot while a command runs beside it: the shared harness of
bench/imports.py and bench/enrol_import.py."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from bench import common as c


async def clicks(
    workdir: Path,
    args: list[str],
    label: str,
    *,
    rate: float,
    clickers: int,
    users: int = 0,
    tokens: int = 4,
) -> None:
    """Clicks at `rate` on a running bot (SQLite), first alone, then while `enrolbot ARGS` runs
    beside it; prints the click acks' p99 in each phase and how long the command took.
    `clickers` of max(`users`, `clickers`) seeded people click the first `tokens` of four
    seeded items."""
    stand = c.standin(workdir)
    db_url = f"sqlite:///{workdir / 'clicks.db'}"
    with c.running(stand):
        stand.start()
        settings = c.enrolbot_settings(db_url, stand.url)
        c.run_enrolbot(workdir, settings, "db", "upgrade")
        links = (await c.seed(db_url, users=max(users, clickers), items=4, warm=True))[:tokens]
        server = c.enrolbot_serve(workdir, settings)
        with c.running(server):
            server.start()
            url = f"{server.url}/slack/events"
            counter = iter(range(10**9))

            def body(k: int) -> str:
                n = next(counter)
                token = links[(n // clickers) % len(links)]
                return c.click_body(c.user_id(n % clickers), token, f"{stand.url}/response/{n}")

            print(f"\n  clicks at {rate:.0f}/s on a running bot (SQLite):", flush=True)
            quiet = await c.open_loop(url, body, rate=rate, seconds=5)
            command, environment = c.enrolbot_command(settings)
            beside = subprocess.Popen(  # noqa: ASYNC220 (returns at once; it runs beside)
                [*command, *args],
                cwd=workdir,
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            began = time.monotonic()
            during = []
            while beside.poll() is None:
                during.append(await c.open_loop(url, body, rate=rate, seconds=2))
            took = time.monotonic() - began
            samples = [s for load in during for s in load.samples if s.start < began + took]
        c.show_problems(server)
    ok = [s.latency for s in samples if s.status == 200]
    failed = len(samples) - len(ok)
    c.line("click p99 with no import", c.ms(quiet.pct(99)))
    c.line(f"{label} beside the bot took", f"{took:.1f} s")
    p99 = c.percentile(ok, 99)
    c.line("click p99 while the import runs", c.ms(p99), "<= 100 ms", p99 <= 0.100)
    print(f"      (ratio to target {p99 / 0.100:.2f}; max {c.ms(max(ok, default=0))})")
    c.line("clicks that failed while it ran", str(failed), "0", failed == 0)
