"""Workers: `enrolbot serve --workers 2` against `--workers 1` on PostgreSQL, under the same
closed-loop click load (BENCH_CONCURRENCY clients, default 32, for BENCH_SECONDS, default 10,
BENCH_ROUNDS rounds, default 2, alternating; the better round of each counts).

A fresh database is created on the server at BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/postgres), upgraded with `enrolbot db upgrade`, seeded
with known users, and dropped at the end. Throughput counts clicks whose reply reached
`response_url` with an enrolment (errors are not throughput), until the last reply came.

The CPU each party used is printed: on a 2-core machine the load generator, the Slack stand-in
and PostgreSQL take their share of the same two cores that the two workers would need.

    python -m bench.workers
"""

from __future__ import annotations

import asyncio
import time
import uuid

from sqlalchemy.engine import make_url

from bench import common as c
from bench.clicks import CONCURRENCY, ITEMS, ROUNDS, SECONDS, USERS, Clicker  # the same load

# One round's enrolled clicks/s, its load, cores used by party, and notes.
Round = tuple[float, c.LoadResult, dict, dict]


def postgres_pids() -> list[int]:
    """PostgreSQL server processes (its backends do the database's share of the work)."""
    pids = []
    for pid in c.process_tree(1):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() in ("postgres", "postmaster"):
                    pids.append(pid)
        except OSError:
            pass
    return pids


def postgres_cpu() -> float:
    total = 0.0
    for pid in postgres_pids():
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / c.CLK_TCK
        except (OSError, IndexError):
            pass
    return total


async def one_round(workers: int, wd, settings, standin: c.Process, clicker: Clicker) -> Round:
    args = ("--workers", str(workers)) if workers > 1 else ()
    app = c.enrolbot_serve(wd, settings, *args)
    with c.running(app):
        app.start(timeout=60)
        url = f"{app.url}/slack/events"
        # Warm up every worker: connections, Bolt's auth.test, imports.
        c.standin_reset(standin.url)
        warm = await c.closed_loop(url, clicker.body, concurrency=8, seconds=2, first=clicker.next)
        clicker.advance(warm)
        await asyncio.to_thread(c.wait_replies, standin.url, len(warm.ok), 60)
        c.standin_reset(standin.url)
        before = {"server": c.cpu_seconds(app.pid), "stand-in": c.cpu_seconds(standin.pid)}
        per_process = {p: c.cpu_seconds(p) for p in c.process_tree(app.pid)}
        pg, own, everything = postgres_cpu(), c.own_cpu_seconds(), c.machine_cpu_seconds()
        load = await c.closed_loop(
            url, clicker.body, concurrency=CONCURRENCY, seconds=SECONDS, first=clicker.next
        )
        wall = load.ended - load.began
        cpu = {
            k: (c.cpu_seconds(p.pid) - before[k]) / wall
            for k, p in (("server", app), ("stand-in", standin))
        }
        cpu["postgresql"] = (postgres_cpu() - pg) / wall
        split = sorted(
            ((c.cpu_seconds(p) - t) / wall for p, t in per_process.items()), reverse=True
        )
        cpu["load generator"] = (c.own_cpu_seconds() - own) / wall
        machine = (c.machine_cpu_seconds() - everything) / wall
        cpu["other processes"] = machine - sum(cpu.values())
        clicker.advance(load)
        stats = await asyncio.to_thread(c.wait_replies, standin.url, len(load.ok), 120)
        problems = c.log_problems(app)
    replies = stats["responses"]
    good = sum(v for k, v in replies["outcomes"].items() if k in ("enrolled", "already_enrolled"))
    last = replies["last"] or load.ended
    rate = good / max(last - load.began, 1e-9)
    notes = {"outcomes": replies["outcomes"], "problems": problems, "split": split}
    return rate, load, cpu, notes


def show_round(workers: int, result: Round) -> None:
    rate, load, cpu, notes = result
    used = ", ".join(f"{k} {v:.2f}" for k, v in cpu.items())
    print(
        f"    --workers {workers}: {rate:6.1f} enrolled/s  "
        f"{load.rps:6.1f} acks/s  p50 {c.ms(load.pct(50))}  "
        f"p99 {c.ms(load.pct(99))}  errors {load.errors}",
        flush=True,
    )
    print(f"         CPU cores used: {used}", flush=True)
    split = " + ".join(f"{x:.2f}" for x in notes["split"])
    print(f"         server processes' cores: {split}", flush=True)
    print(f"         replies {notes['outcomes']}", flush=True)
    if notes["problems"]:
        print(f"         server logged {notes['problems']}", flush=True)


async def all_rounds(db_url: str) -> dict[int, list[Round]]:
    """Migrate and seed the database, then ROUNDS rounds of 1 worker and 2 in turn."""
    with c.workdir("bench-workers-") as wd:
        standin = c.standin(wd).start()
        with c.running(standin):
            settings = c.enrolbot_settings(db_url, standin.url)
            print(f"   {c.run_enrolbot(wd, settings, 'db', 'upgrade')}", flush=True)
            async_url = make_url(db_url).set(drivername="postgresql+asyncpg")
            tokens = await c.seed(
                async_url.render_as_string(hide_password=False),
                users=USERS,
                items=ITEMS,
                warm=True,
            )
            clicker = Clicker(tokens, standin.url)
            results: dict[int, list[Round]] = {1: [], 2: []}
            for _ in range(ROUNDS):
                for workers in (1, 2):
                    result = await one_round(workers, wd, settings, standin, clicker)
                    show_round(workers, result)
                    results[workers].append(result)
    return results


def report(results: dict[int, list[Round]]) -> None:
    one = max(results[1], key=lambda r: r[0])
    two = max(results[2], key=lambda r: r[0])
    print("\n  figures (the better round of each):")
    c.line("--workers 1: enrolled clicks/s", f"{one[0]:.0f}")
    c.line("--workers 2: enrolled clicks/s", f"{two[0]:.0f}")
    c.line("--workers 1: p50 / p99 ack", f"{c.ms(one[1].pct(50))} / {c.ms(one[1].pct(99))}")
    c.line("--workers 2: p50 / p99 ack", f"{c.ms(two[1].pct(50))} / {c.ms(two[1].pct(99))}")
    ratio = two[0] / max(one[0], 1e-9)
    c.line("throughput ratio 2 workers / 1", f"{ratio:.2f}", ">= 1.7", ratio >= 1.7)
    per_core = [r[0] / max(r[2]["server"], 1e-9) for r in (one, two)]
    c.line(
        "enrolled clicks per server core-second, 1 / 2", f"{per_core[0]:.0f} / {per_core[1]:.0f}"
    )
    c.line("  scaling per core used (2 workers / 1)", f"{per_core[1] / per_core[0]:.2f}")
    others = sum(v for k, v in two[2].items() if k not in ("server", "other processes"))
    c.line("cores the 2 workers used (of 2)", f"{two[2]['server']:.2f}")
    c.line("cores load generator + stand-in + PostgreSQL", f"{others:.2f}")
    c.line("cores other processes on the machine used", f"{two[2]['other processes']:.2f}")


async def main() -> None:
    c.header("Workers: enrolbot serve --workers 2 against 1, PostgreSQL")
    print(
        f"   {USERS} known users, {ITEMS} items; closed loop {CONCURRENCY} clients x "
        f"{SECONDS:.0f}s x {ROUNDS} rounds",
        flush=True,
    )
    name = f"enrolbot_bench_{uuid.uuid4().hex[:10]}"
    admin = make_url(c.pg_admin_url())
    db_url = admin.set(database=name).render_as_string(hide_password=False)
    await c.pg_execute(f'CREATE DATABASE "{name}"')
    try:
        results = await all_rounds(db_url)
    finally:
        await c.pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    report(results)


if __name__ == "__main__":
    started = time.monotonic()
    asyncio.run(main())
    print(f"  (ran in {time.monotonic() - started:.0f}s)")
