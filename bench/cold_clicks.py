"""Cold clicks: people enrolbot has never seen click Enrol, so each needs one `users.info`, from a
Slack stand-in that answers it only after a set delay (BENCH_SLACK_DELAY, default 0.2 s).

For each rate in BENCH_COLD_RATES (default "20,50": one the server keeps up with, and a burst
it does not), BENCH_COLD_SECONDS (default 10) of new people, paced. Pass 1: they click Enrol;
every fifth double-clicks (a second click 30 ms after the first), as people do. Pass 2: the
same people click another item; they are known now, so Slack is not asked.

Printed: `users.info` calls per person (target: one), the HTTP ack time of every click (target:
never past Slack's 3 s), and the time until the reply reached `response_url`.

    python -m bench.cold_clicks
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass

from bench import common as c

RATES = [float(r) for r in (os.environ.get("BENCH_COLD_RATES") or "20,50").split(",")]
SECONDS = c.knob("BENCH_COLD_SECONDS", 10) * c.scale()
DELAY = c.knob("BENCH_SLACK_DELAY", 0.2)
DOUBLE_EVERY = 5
DOUBLE_GAP = 0.03


@dataclass
class Group:
    """The people of one rate: numbers first .. first + count - 1."""

    rate: float
    first: int
    count: int

    def numbers(self) -> range:
        return range(self.first, self.first + self.count)

    def doubles(self) -> list[int]:
        return [n for n in self.numbers() if (n - self.first) % DOUBLE_EVERY == 0]


def plan(group: Group, tokens: list[str], standin_url: str, item: int, doubles: bool):
    rows, rids = [], []
    for n in group.numbers():
        at = (n - group.first) / group.rate
        twice = doubles and (n - group.first) % DOUBLE_EVERY == 0
        for k, offset in enumerate([at, at + DOUBLE_GAP] if twice else [at]):
            rid = f"i{item}-{k}-{n}"
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


async def run_pass(
    app: c.Process, standin: c.Process, group: Group, tokens, item: int, doubles: bool
):
    c.standin_reset(standin.url)
    rows, rids = plan(group, tokens, standin.url, item, doubles)
    samples, _ = await c.planned(f"{app.url}/slack/events", rows)
    ok = sum(1 for s in samples if s.status == 200)
    await asyncio.to_thread(c.wait_replies, standin.url, ok, 120)
    stats = c.standin_stats(standin.url, per_user="1", per_reply="1")
    return samples, rids, stats


def report(group: Group, first, rids1, stats1, second, rids2, stats2) -> None:
    per_user = Counter(stats1["users_info"]["per_user"])
    doubles = set(group.doubles())
    single_calls = [per_user.get(c.user_id(n), 0) for n in group.numbers() if n not in doubles]
    double_calls = [per_user.get(c.user_id(n), 0) for n in doubles]
    acks1 = [s.latency for s in first if s.status == 200]
    acks2 = [s.latency for s in second if s.status == 200]
    replies1 = reply_latencies(first, rids1, stats1["per_reply"])
    replies2 = reply_latencies(second, rids2, stats2["per_reply"])
    failed = sum(1 for s in first + second if s.status != 200)
    print(f"\n  {group.count} new people at {group.rate:.0f}/s:")
    print(f"    pass 1 (first clicks) outcomes: {stats1['responses']['outcomes']}")
    print(f"    pass 2 (known people) outcomes: {stats2['responses']['outcomes']}")
    calls = stats1["users_info"]["calls"]
    c.line("pass 1: users.info calls / people", f"{calls} / {group.count}")
    most = max(single_calls, default=0)
    c.line(
        "single clickers: most users.info calls for one",
        str(most),
        "1",
        most == 1 and min(single_calls, default=1) == 1,
    )
    worst = max(double_calls, default=0)
    twice = sum(1 for n in double_calls if n > 1)
    c.line(
        "double clickers: most users.info calls for one",
        f"{worst} ({twice}/{len(double_calls)} >1)",
        "1",
        worst == 1,
    )
    again = stats2["users_info"]["calls"]
    c.line("pass 2 (known people): users.info calls", str(again), "0", again == 0)
    p50, p99 = c.percentile(acks1, 50), c.percentile(acks1, 99)
    c.line("pass 1 ack p50 / p99", f"{c.ms(p50)} / {c.ms(p99)}")
    worst_ack = max(acks1 + acks2, default=float("nan"))
    c.line("slowest ack, both passes", c.ms(worst_ack), "< 3000 ms", worst_ack < 3.0)
    c.line("failed click requests (non-200)", str(failed), "0", failed == 0)
    p50, p99 = c.percentile(replies1, 50), c.percentile(replies1, 99)
    c.line("pass 1 click-to-reply p50 / p99", f"{c.ms(p50)} / {c.ms(p99)}")
    p50, p99 = c.percentile(replies2, 50), c.percentile(replies2, 99)
    c.line("pass 2 click-to-reply p50 / p99", f"{c.ms(p50)} / {c.ms(p99)}")
    lost = len(first) + len(second) - len(replies1) - len(replies2)
    c.line("clicks with no reply", str(lost), "0", lost == 0)


async def main() -> None:
    c.header("Cold clicks: first clicks of unknown people, Slack answering users.info slowly")
    groups, first = [], 0
    for rate in RATES:
        groups.append(Group(rate, first, round(rate * SECONDS)))
        first += groups[-1].count
    print(
        f"   {SECONDS:.0f}s of new people at each of {', '.join(f'{r:.0f}/s' for r in RATES)} "
        f"(every {DOUBLE_EVERY}th double-clicks {DOUBLE_GAP * 1000:.0f} ms apart); "
        f"users.info answers after {DELAY * 1000:.0f} ms",
        flush=True,
    )
    with c.workdir("bench-cold-") as wd:
        standin = c.standin(wd, users_delay=DELAY).start()
        db_url = f"sqlite:///{wd / 'enrolbot.db'}"
        settings = c.enrolbot_settings(db_url, standin.url)
        c.run_enrolbot(wd, settings, "db", "upgrade")
        tokens = await c.seed(db_url, users=first, items=2, warm=False)
        app = c.enrolbot_serve(wd, settings)
        results = []
        with c.running(standin, app):
            app.start()
            # One click by someone else first: Bolt's auth.test and the pools warm up.
            warm = [(0.0, c.click_body(c.ADMIN_ID, tokens[1], f"{standin.url}/response/w"))]
            await c.planned(f"{app.url}/slack/events", warm)
            await asyncio.to_thread(c.wait_replies, standin.url, 1, 30)
            for group in groups:
                one = await run_pass(app, standin, group, tokens, 0, True)
                two = await run_pass(app, standin, group, tokens, 1, False)
                results.append((group, one, two))
        c.show_problems(app)
    print("\n  figures:")
    for group, one, two in results:
        report(group, *one, *two)


if __name__ == "__main__":
    started = time.monotonic()
    asyncio.run(main())
    print(f"  (ran in {time.monotonic() - started:.0f}s)")
