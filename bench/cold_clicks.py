"""Cold clicks: people enrolbot has never seen click Enrol, so each needs one `users.info`, from a
Slack stand-in that answers it only after a set delay (BENCH_SLACK_DELAY, default 0.2 s).

Pass 1: BENCH_COLD_USERS new people (default 500) click at BENCH_COLD_RATE per second (default
50), paced; every fifth of them double-clicks (a second click 30 ms after the first), as people
do. Pass 2: the same people click another item; they are known now, so Slack is not asked.

Printed: `users.info` calls per person (target: one), the HTTP ack time of every click (target:
never past Slack's 3 s), and the time until the reply reached `response_url`.

    python -m bench.cold_clicks
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from bench import common as c

USERS = int(c.knob("BENCH_COLD_USERS", 500) * c.scale())
RATE = c.knob("BENCH_COLD_RATE", 50)
DELAY = c.knob("BENCH_SLACK_DELAY", 0.2)
DOUBLE_EVERY = 5
DOUBLE_GAP = 0.03


def plan(tokens: list[str], standin_url: str, item: int, prefix: str, doubles: bool):
    rows, rids = [], []
    for n in range(USERS):
        at = n / RATE
        clicks = [at, at + DOUBLE_GAP] if doubles and n % DOUBLE_EVERY == 0 else [at]
        for k, offset in enumerate(clicks):
            rid = f"{prefix}{k}-{n}"
            url = f"{standin_url}/response/{rid}"
            rows.append((offset, c.click_body(c.user_id(n), tokens[item], url)))
            rids.append(rid)
    order = sorted(range(len(rows)), key=lambda i: rows[i][0])
    return [rows[i] for i in order], [rids[i] for i in order]


def reply_latencies(samples: list[c.Sample], rids: list[str], per_reply: dict) -> list[float]:
    out = []
    for sample, rid in zip(samples, rids, strict=True):
        if rid in per_reply:
            out.append(per_reply[rid][0] - sample.start)
    return out


async def run_pass(app: c.Proc, standin: c.Proc, tokens, item: int, prefix: str, doubles: bool):
    c.standin_reset(standin.url)
    rows, rids = plan(tokens, standin.url, item, prefix, doubles)
    samples, _ = await c.planned(f"{app.url}/slack/events", rows)
    ok = sum(1 for s in samples if s.status == 200)
    await asyncio.to_thread(c.wait_replies, standin.url, ok, 120)
    stats = c.standin_stats(standin.url, per_user="1", per_reply="1")
    return samples, rids, stats


async def main() -> None:
    c.header("Cold clicks: first clicks of unknown people, Slack answering users.info slowly")
    print(
        f"   {USERS} new people at {RATE:.0f}/s (every {DOUBLE_EVERY}th double-clicks "
        f"{DOUBLE_GAP * 1000:.0f} ms apart); users.info answers after {DELAY * 1000:.0f} ms",
        flush=True,
    )
    with c.workdir("bench-cold-") as wd:
        standin = c.standin(wd, users_delay=DELAY).start()
        db_url = f"sqlite+aiosqlite:///{wd / 'enrolbot.db'}"
        settings = c.enrolbot_settings(db_url, standin.url)
        c.run_enrolbot(wd, settings, "db", "upgrade")
        tokens = await c.seed(db_url, users=USERS, items=2, warm=False)
        app = c.enrolbot_serve(wd, settings)
        with c.running(standin, app):
            app.start()
            # One click by someone else first: Bolt's auth.test and the pools warm up.
            warm = [(0.0, c.click_body(c.ADMIN_ID, tokens[1], f"{standin.url}/response/w"))]
            await c.planned(f"{app.url}/slack/events", warm)
            await asyncio.to_thread(c.wait_replies, standin.url, 1, 30)

            first, rids1, stats1 = await run_pass(app, standin, tokens, 0, "a", True)
            second, rids2, stats2 = await run_pass(app, standin, tokens, 1, "b", False)
        c.show_problems(app)

    per_user = Counter(stats1["users_info"]["per_user"])
    doubles = {c.user_id(n) for n in range(0, USERS, DOUBLE_EVERY)}
    single_calls = [per_user.get(c.user_id(n), 0) for n in range(USERS) if n % DOUBLE_EVERY]
    double_calls = [per_user.get(u, 0) for u in doubles]
    acks1 = [s.latency for s in first if s.status == 200]
    acks2 = [s.latency for s in second if s.status == 200]
    replies1 = reply_latencies(first, rids1, stats1["per_reply"])
    replies2 = reply_latencies(second, rids2, stats2["per_reply"])
    failed = sum(1 for s in first + second if s.status != 200)

    print(f"\n  pass 1 outcomes: {stats1['responses']['outcomes']}")
    print(f"  pass 2 outcomes: {stats2['responses']['outcomes']}")
    print("\n  figures:")
    calls = stats1["users_info"]["calls"]
    c.line("pass 1: users.info calls / people", f"{calls} / {USERS}")
    c.line(
        "single clickers: most users.info calls for one",
        str(max(single_calls, default=0)),
        "1",
        max(single_calls, default=0) == 1 and min(single_calls, default=1) == 1,
    )
    worst = max(double_calls, default=0)
    twice = sum(1 for n in double_calls if n > 1)
    c.line(
        "double clickers: most users.info calls for one",
        f"{worst} ({twice} of {len(double_calls)} asked >1)",
        "1",
        worst == 1,
    )
    again = stats2["users_info"]["calls"]
    c.line("pass 2 (known people): users.info calls", str(again), "0", again == 0)
    c.line("pass 1 ack p50 / p99", f"{c.ms(c.percentile(acks1, 50))} / {c.ms(c.percentile(acks1, 99))}")
    worst_ack = max(acks1 + acks2, default=float("nan"))
    c.line("slowest ack, both passes", c.ms(worst_ack), "< 3000 ms", worst_ack < 3.0)
    c.line("failed click requests (non-200)", str(failed), "0", failed == 0)
    c.line(
        "pass 1 click-to-reply p50 / p99",
        f"{c.ms(c.percentile(replies1, 50))} / {c.ms(c.percentile(replies1, 99))}",
    )
    c.line("pass 1 click-to-reply max", c.ms(max(replies1, default=float("nan"))))
    c.line(
        "pass 2 click-to-reply p50 / p99",
        f"{c.ms(c.percentile(replies2, 50))} / {c.ms(c.percentile(replies2, 99))}",
    )
    lost = len(first) + len(second) - len(replies1) - len(replies2)
    c.line("clicks with no reply", str(lost), "0", lost == 0)


if __name__ == "__main__":
    started = time.monotonic()
    asyncio.run(main())
    print(f"  (ran in {time.monotonic() - started:.0f}s)")
