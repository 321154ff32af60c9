"""P1, warm click throughput: `enrolbot serve` on a SQLite file against a minimal Bolt app, both
driven over HTTP with signed `block_actions` clicks of many distinct, already-known users.

Phases, each app in turn under the same load (alternating, so that noise from other work on the
machine falls on both):

1. closed loop: BENCH_CONCURRENCY clients (default 32), each sending its next click as soon as
   the last was acked, for BENCH_SECONDS (default 10) per app per round, BENCH_ROUNDS rounds
   (default 2; the better round of each app counts);
2. open loop: clicks paced at BENCH_RATE per second (default 200) for BENCH_OPEN_SECONDS
   (default 15), latency counted from when each click was due.

Latency is the HTTP answer to the click (Bolt's ack). Throughput is given twice: acks per
second, and clicks completed per second (the reply posted to `response_url` arrived at the
stand-in), counting until the last reply of the window arrived, so a backlog is not hidden.

    python -m bench.clicks
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass

import httpx

from bench import common as c

USERS = int(c.knob("BENCH_USERS", 10000))
ITEMS = 10
CONCURRENCY = int(c.knob("BENCH_CONCURRENCY", 32))
SECONDS = c.knob("BENCH_SECONDS", 10) * c.scale()
ROUNDS = int(c.knob("BENCH_ROUNDS", 2))
RATE = c.knob("BENCH_RATE", 200)
OPEN_SECONDS = c.knob("BENCH_OPEN_SECONDS", 15) * c.scale()


@dataclass
class Run:
    name: str
    load: c.LoadResult
    completed: int
    completed_rps: float
    drain: float  # seconds from the last ack to the last reply
    outcomes: dict
    cpu: dict[str, float]  # cores used during the window, per process


class Clicker:
    """Bodies for click number k: user k % USERS on item (k // USERS) % ITEMS, so that no
    (user, item) pair repeats and every click is a first enrolment. All clicks of a run are
    on one item's button, as after an announcement; with BENCH_SPREAD=1 consecutive clicks go
    to different items instead (user k // ITEMS on item k % ITEMS)."""

    def __init__(self, tokens: list[str], standin_url: str) -> None:
        self.tokens = tokens
        self.standin_url = standin_url
        self.next = 0
        self.spread = bool(c.knob("BENCH_SPREAD", 0))

    def body(self, k: int) -> str:
        n = len(self.tokens)
        if self.spread:
            user, item = (k // n) % USERS, (k % n + k // (n * USERS)) % n
        else:
            user, item = k % USERS, (k // USERS) % n
        token = self.tokens[item]
        user = c.user_id(user)
        return c.click_body(user, token, f"{self.standin_url}/response/{k}")

    def advance(self, load: c.LoadResult) -> None:
        self.next += len(load.samples) + 1


async def measure(
    name: str,
    app: c.Process,
    procs: dict[str, c.Process],
    clicker: Clicker,
    *,
    rate: float | None = None,
    seconds: float,
) -> Run:
    standin_url = procs["stand-in"].url
    c.standin_reset(standin_url)
    before = {k: c.cpu_seconds(p.pid) for k, p in procs.items()}
    own, everything = c.own_cpu_seconds(), c.machine_cpu_seconds()
    url = f"{app.url}/slack/events"
    if rate is None:
        load = await c.closed_loop(
            url, clicker.body, concurrency=CONCURRENCY, seconds=seconds, first=clicker.next
        )
    else:
        load = await c.open_loop(url, clicker.body, rate=rate, seconds=seconds, first=clicker.next)
    wall = load.ended - load.began
    cpu = {k: (c.cpu_seconds(p.pid) - before[k]) / wall for k, p in procs.items()}
    cpu["load generator"] = (c.own_cpu_seconds() - own) / wall
    cpu["other processes"] = (c.machine_cpu_seconds() - everything) / wall - sum(cpu.values())
    clicker.advance(load)
    stats = await asyncio.to_thread(c.wait_replies, standin_url, len(load.ok), 120)
    replies = stats["responses"]
    last = replies["last"] or load.ended
    # Only replies that enrolled someone count as throughput, not "something went wrong".
    completed = sum(replies["outcomes"].get(k, 0) for k in ("enrolled", "already_enrolled"))
    return Run(
        name,
        load,
        completed,
        completed / max(last - load.began, 1e-9),
        max(0.0, last - load.ended),
        replies["outcomes"],
        cpu,
    )


def show(run: Run) -> None:
    load = run.load
    cpu = ", ".join(f"{k} {v:.2f}" for k, v in run.cpu.items())
    print(
        f"    {run.name:<8} acks {len(load.ok):>6} ({load.errors} errors)  "
        f"{load.rps:7.1f} acks/s  {run.completed_rps:7.1f} completed/s  "
        f"p50 {c.ms(load.pct(50))}  p99 {c.ms(load.pct(99))}  max {c.ms(load.pct(100))}  "
        f"drain {run.drain:.2f}s",
        flush=True,
    )
    print(f"             outcomes {run.outcomes}; CPU cores used: {cpu}", flush=True)


def click_outcomes(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    found = re.findall(r'enrolbot_clicks_total\{outcome="([^"]+)",platform="slack"\} (\S+)', text)
    found += re.findall(r'enrolbot_clicks_total\{platform="slack",outcome="([^"]+)"\} (\S+)', text)
    return {k: float(v) for k, v in found}


async def closed_rounds(
    apps: dict[str, c.Process], clickers: dict[str, Clicker], standin: c.Process
) -> dict[str, list[Run]]:
    """Warm both apps up, then ROUNDS rounds of the closed loop, the apps taking turns."""
    # Warm up both: the first click asks auth.test, imports settle, pools fill.
    for name, app in apps.items():
        procs = {"server": app, "stand-in": standin}
        await measure(name, app, procs, clickers[name], seconds=2)

    print("\n  closed loop (as fast as the clients go):", flush=True)
    closed: dict[str, list[Run]] = {name: [] for name in apps}
    for _ in range(ROUNDS):
        for name, app in apps.items():
            procs = {"server": app, "stand-in": standin}
            run = await measure(name, app, procs, clickers[name], seconds=SECONDS)
            show(run)
            closed[name].append(run)
    return closed


async def paced_runs(
    apps: dict[str, c.Process], clickers: dict[str, Clicker], standin: c.Process
) -> dict[str, Run]:
    """The open loop at RATE clicks a second, each app in turn."""
    print(f"\n  open loop ({RATE:.0f} clicks/s, paced):", flush=True)
    paced: dict[str, Run] = {}
    for name, app in apps.items():
        procs = {"server": app, "stand-in": standin}
        run = await measure(name, app, procs, clickers[name], rate=RATE, seconds=OPEN_SECONDS)
        show(run)
        paced[name] = run
    return paced


def report_closed(closed: dict[str, list[Run]]) -> None:
    best = {name: max(runs, key=lambda r: r.completed_rps) for name, runs in closed.items()}
    mine, base = best["enrolbot"], best["minimal"]
    print("\n  figures (closed loop: the better round of each app):")
    c.line("minimal app: acks/s", f"{base.load.rps:.0f}")
    c.line("minimal app: completed clicks/s", f"{base.completed_rps:.0f}")
    c.line("minimal app: p50 / p99 ack", f"{c.ms(base.load.pct(50))} / {c.ms(base.load.pct(99))}")
    c.line("enrolbot: acks/s", f"{mine.load.rps:.0f}")
    c.line("enrolbot: completed clicks/s", f"{mine.completed_rps:.0f}")
    c.line("enrolbot: p50 / p99 ack", f"{c.ms(mine.load.pct(50))} / {c.ms(mine.load.pct(99))}")
    ack_ratio = mine.load.rps / base.load.rps
    done_ratio = mine.completed_rps / base.completed_rps
    c.line(
        "throughput ratio, acks/s (ours/minimal)",
        f"{ack_ratio:.2f}",
        ">= 0.6",
        ack_ratio >= 0.6,
    )
    c.line(
        "throughput ratio, completed/s (ours/minimal)",
        f"{done_ratio:.2f}",
        ">= 0.6",
        done_ratio >= 0.6,
    )
    p99_closed = mine.load.pct(99) / base.load.pct(99)
    c.line("p99 ratio, closed loop (ours/minimal)", f"{p99_closed:.2f}", "<= 2", p99_closed <= 2)


def report_open(paced: dict[str, Run], closed: dict[str, list[Run]]) -> None:
    pm, pb = paced["enrolbot"], paced["minimal"]
    print(f"\n  figures (open loop, {RATE:.0f} clicks/s):")
    c.line("minimal app: p50 / p99 ack", f"{c.ms(pb.load.pct(50))} / {c.ms(pb.load.pct(99))}")
    c.line("enrolbot: p50 / p99 ack", f"{c.ms(pm.load.pct(50))} / {c.ms(pm.load.pct(99))}")
    c.line("enrolbot: max ack", c.ms(pm.load.pct(100)))
    c.line("enrolbot: completed clicks/s", f"{pm.completed_rps:.0f}")
    p99_open = pm.load.pct(99) / pb.load.pct(99)
    c.line("p99 ratio, open loop (ours/minimal)", f"{p99_open:.2f}", "<= 2", p99_open <= 2)
    c.line(
        f"enrolbot p99 ack at {RATE:.0f}/s",
        c.ms(pm.load.pct(99)),
        "<= 50 ms",
        pm.load.pct(99) <= 0.050,
    )
    errors = sum(r.load.errors for runs in closed.values() for r in runs) + pm.load.errors
    c.line("failed click requests (non-200)", str(errors), "0", errors == 0)


async def main() -> None:
    c.header("P1 warm clicks: enrolbot serve (SQLite) against a minimal Bolt app")
    print(
        f"   {USERS} known users, {ITEMS} items; closed loop {CONCURRENCY} clients x "
        f"{SECONDS:.0f}s x {ROUNDS} rounds; open loop {RATE:.0f}/s x {OPEN_SECONDS:.0f}s",
        flush=True,
    )
    with c.workdir("bench-clicks-") as wd:
        standin = c.standin(wd).start()
        db_url = f"sqlite:///{wd / 'enrolbot.db'}"
        settings = c.enrolbot_settings(db_url, standin.url)
        c.run_enrolbot(wd, settings, "db", "upgrade")
        tokens = await c.seed(db_url, users=USERS, items=ITEMS, warm=True)
        ours = c.enrolbot_serve(wd, settings)
        minimal = c.minimal_app(wd, standin.url)
        with c.running(standin, ours, minimal):
            ours.start()
            minimal.start()
            apps = {"minimal": minimal, "enrolbot": ours}
            clickers = {name: Clicker(tokens, standin.url) for name in apps}
            closed = await closed_rounds(apps, clickers, standin)
            paced = await paced_runs(apps, clickers, standin)
            outcomes = click_outcomes(ours.url)
        c.show_problems(ours)

        print(f"\n  enrolbot's click outcomes (from /metrics): {outcomes}")
        report_closed(closed)
        report_open(paced, closed)


if __name__ == "__main__":
    started = time.monotonic()
    asyncio.run(main())
    print(f"  (ran in {time.monotonic() - started:.0f}s)")
