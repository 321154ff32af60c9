"""P2, alert burst: BENCH_BURST self-enrolments (default 10,000) within BENCH_BURST_SECONDS
(default 60) in one item whose alerts go to one Slack channel, while `enrolbot serve` delivers.

The channel is subscribed with the product's own `/enrol notify` command, sent to the running
bot as a signed slash command. The enrolments are written by separate processes against the
same SQLite file, paced evenly over the period, while `enrolbot serve` delivers the alerts:

- BENCH_BURST_MODE=rows (default): batches of 25 people per transaction, each an enrolment row
  and the outbox rows the product's own `handlers.alerts.enqueue_self_enrolment` writes for it.
  Cheap enough to really make 10,000 in a minute on 2 cores.
- BENCH_BURST_MODE=handler: each enrolment through `handlers.enrol.enrol_with_token` in its own
  transaction, exactly as a click makes it (BENCH_BURST_PROCS processes, default 2, 4 tasks
  each). On a 2-core machine this cannot keep 10,000 a minute; the time it took is printed.

Printed: messages the channel got, people they listed, the shortest and the largest gap between
two messages, and the time from the last enrolment to the last alert.
Targets: <= 120 messages, never more than 1 a second, all delivered within 2 minutes.

    python -m bench.alert_burst
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import common as c

TOTAL = int(c.knob("BENCH_BURST", 10000) * c.scale())
SECONDS = c.knob("BENCH_BURST_SECONDS", 60) * min(c.scale(), 1.0)
MODE = os.environ.get("BENCH_BURST_MODE", "rows")
PROCS = int(c.knob("BENCH_BURST_PROCS", 2 if MODE == "handler" else 1))
TASKS = 4  # concurrent enrolments per process, in handler mode
BATCH = 25  # people per transaction, in rows mode


async def enrol_slice(db_url: str, token: str, numbers: list[int], start_at: float) -> dict:
    """Enrol people `numbers` (warm identities), each at its due time; run in a child process."""
    from handlers.enrol import enrol_with_token
    from handlers.identity import Account
    from handlers.organisations import default_organisation
    from handlers.signing import LinkSigner
    from store.db import make_engine, make_sessionmaker

    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    signer = LinkSigner([c.SECRET_KEY])
    rate = TOTAL / SECONDS
    outcomes: dict[str, int] = {}
    last = 0.0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in numbers:
        queue.put_nowait(n)

    async def no_lookup():
        raise AssertionError("warm identities need no lookup")

    async def worker() -> None:
        nonlocal last
        while not queue.empty():
            n = queue.get_nowait()
            delay = start_at + n / rate - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                async with sessions() as session, session.begin():
                    result = await enrol_with_token(
                        session,
                        signer=signer,
                        organisation=await default_organisation(session),
                        token=token,
                        account=Account("slack", c.TEAM, c.user_id(n)),
                        lookup=no_lookup,
                        channel=c.CLICK_CHANNEL,
                    )
                key = result.outcome.value
            except Exception as exc:
                key = f"error: {type(exc).__name__}: {str(exc)[:80]}"
            outcomes[key] = outcomes.get(key, 0) + 1
            last = max(last, time.time())

    try:
        await asyncio.gather(*(worker() for _ in range(TASKS)))
    finally:
        await engine.dispose()
    return {"outcomes": outcomes, "last": last}


async def rows_slice(db_url: str, numbers: list[int], start_at: float) -> dict:
    """The same rows, cheaper: each batch of BATCH people in one transaction, an enrolment row
    each and its outbox rows from the product's own `alerts.enqueue_self_enrolment`."""
    from sqlalchemy import select

    from handlers import alerts
    from handlers.links import default_link
    from handlers.organisations import default_organisation
    from store.db import make_engine, make_sessionmaker
    from store.models import CatalogItem, Enrolment, EnrolmentStatus, User, utcnow

    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    rate = TOTAL / SECONDS
    outcomes: dict[str, int] = {}
    last = 0.0
    try:
        for start in range(0, len(numbers), BATCH):
            batch = numbers[start : start + BATCH]
            delay = start_at + batch[0] / rate - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                async with sessions() as session, session.begin():
                    org = await default_organisation(session)
                    item = (
                        await session.execute(
                            select(CatalogItem).where(CatalogItem.slug == "bench-0")
                        )
                    ).scalar_one()
                    link = await default_link(session, item)
                    users = (
                        await session.execute(
                            select(User).where(User.email.in_([c.email_of(n) for n in batch]))
                        )
                    ).scalars()
                    for user in users:
                        now = utcnow()
                        session.add(
                            Enrolment(
                                user_id=user.id,
                                item_id=item.id,
                                status=EnrolmentStatus.ENROLLED,
                                link_id=link.id,
                                enrolled_at=now,
                            )
                        )
                        await alerts.enqueue_self_enrolment(session, org, user, item, link, now)
                key = "enrolled"
            except Exception as exc:
                key = f"error: {type(exc).__name__}: {str(exc)[:80]}"
            outcomes[key] = outcomes.get(key, 0) + len(batch)
            last = max(last, time.time())
    finally:
        await engine.dispose()
    return {"outcomes": outcomes, "last": last}


def child(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db")
    parser.add_argument("--token")
    parser.add_argument("--index", type=int)
    parser.add_argument("--start-at", type=float)
    args = parser.parse_args(argv)
    numbers = list(range(args.index, TOTAL, PROCS))
    if MODE == "handler":
        result = asyncio.run(enrol_slice(args.db, args.token, numbers, args.start_at))
    else:
        result = asyncio.run(rows_slice(args.db, numbers, args.start_at))
    print(json.dumps(result), flush=True)


def subscribe(app: c.Process, standin: c.Process) -> str:
    import httpx

    from tests.support.slack_world import command_body

    body = command_body(
        c.ADMIN_ID,
        f"notify bench-0 <#{c.ALERT_CHANNEL}|alerts>",
        "C0GENERAL",
        f"{standin.url}/response/notify",
    )
    response = httpx.post(f"{app.url}/slack/events", content=body, headers=c.signed_headers(body))
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        text = c.standin_stats(standin.url)["replies"].get("notify")
        if text:
            return text
        time.sleep(0.1)
    raise RuntimeError("no answer to /enrol notify")


def start_enrolments(db_url: str, token: str, start_at: float) -> list[subprocess.Popen]:
    """PROCS child processes, each enrolling its share of the people from `start_at` (wall)."""
    return [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "bench.alert_burst", "--child", "--db", db_url),
                *("--token", token, "--index", str(i), "--start-at", str(start_at)),
            ],
            cwd=c.REPO,
            env=c.env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(PROCS)
    ]


def collect(children: list[subprocess.Popen]) -> tuple[dict[str, int], float]:
    """The children's outcomes added up, and the wall-clock time of the last enrolment."""
    outcomes: dict[str, int] = {}
    last_enrol_wall = 0.0
    for proc in children:
        out, _ = proc.communicate(timeout=SECONDS + 600)
        result = json.loads(out.strip().splitlines()[-1])
        for k, v in result["outcomes"].items():
            outcomes[k] = outcomes.get(k, 0) + v
        last_enrol_wall = max(last_enrol_wall, result["last"])
    return outcomes, last_enrol_wall


def wait_alerts(standin_url: str, enrolled: int) -> tuple[list[dict], int]:
    """The alert channel's messages once they have listed `enrolled` people (or after 150 s),
    and how many people they listed."""
    deadline = time.monotonic() + 150
    while True:
        stats = c.standin_stats(standin_url)
        messages = [m for m in stats["messages"] if m["channel"] == c.ALERT_CHANNEL]
        people = sum(m["people"] for m in messages)
        if people >= enrolled or time.monotonic() > deadline:
            return messages, people
        time.sleep(0.5)


@dataclass
class Burst:
    messages: list[dict]  # what the alert channel got
    people: int  # how many people those messages listed
    enrolled: int  # self-enrolments made
    began: float  # monotonic: when the first enrolment was due
    last_enrol: float  # monotonic: when the last was made


def burst(wd: Path) -> Burst:
    """Subscribe the channel, run the enrolments and wait for their alerts."""
    standin = c.standin(wd).start()
    db_url = f"sqlite:///{wd / 'enrolbot.db'}"
    settings = c.enrolbot_settings(db_url, standin.url)
    c.run_enrolbot(wd, settings, "db", "upgrade")
    tokens = asyncio.run(c.seed(db_url, users=TOTAL, items=1, warm=True))
    app = c.enrolbot_serve(wd, settings)
    with c.running(standin, app):
        app.start()
        print(f"   /enrol notify answered: {subscribe(app, standin)}", flush=True)
        c.standin_reset(standin.url)
        start_at = time.time() + 1.0
        began = time.monotonic() + 1.0
        outcomes, last_enrol_wall = collect(start_enrolments(db_url, tokens[0], start_at))
        # The enrolment processes report wall-clock times; convert to this clock.
        last_enrol = began + (last_enrol_wall - start_at)
        enrolled = outcomes.get("enrolled", 0)
        print(
            f"   enrolments done in {last_enrol - began:.1f}s: {outcomes}",
            flush=True,
        )
        messages, people = wait_alerts(standin.url, enrolled)
    c.show_problems(app)
    return Burst(messages, people, enrolled, began, last_enrol)


def report(b: Burst) -> None:
    messages, people, enrolled = b.messages, b.people, b.enrolled
    began, last_enrol = b.began, b.last_enrol
    times = [m["at"] for m in messages]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    print("\n  figures:")
    c.line("self-enrolments made / asked", f"{enrolled} / {TOTAL}")
    c.line("time to make them", f"{last_enrol - began:.1f} s", f"<= {SECONDS:.0f} s")
    c.line("people announced in the channel", str(people), str(enrolled), people == enrolled)
    c.line("messages sent to the channel", str(len(messages)), "<= 120", len(messages) <= 120)
    shortest = min(gaps, default=float("inf"))
    c.line("shortest gap between messages", f"{shortest:.2f} s", ">= 1 s", shortest >= 0.999)
    c.line(
        "median / largest gap between messages",
        f"{c.median(gaps):.2f} / {max(gaps, default=0):.2f} s",
    )
    if messages:
        c.line("first alert after first enrolment", f"{times[0] - began:.2f} s")
        drained = times[-1] - last_enrol
        c.line(
            "last enrolment to last alert",
            f"{drained:.1f} s",
            "<= 120 s",
            drained <= 120 and people >= enrolled,
        )
        per = sorted(m["people"] for m in messages)
        c.line(
            "people per message: min / median / max", f"{per[0]} / {c.median(per):.0f} / {per[-1]}"
        )


def main() -> None:
    c.header("P2 alert burst: self-enrolments into one subscribed channel")
    print(
        f"   {TOTAL} enrolments over {SECONDS:.0f}s, {MODE} mode, {PROCS} process(es); "
        "delivery by enrolbot serve (every 1s)",
        flush=True,
    )
    with c.workdir("bench-burst-") as wd:
        result = burst(wd)
    report(result)


if __name__ == "__main__":
    if "--child" in sys.argv:
        child([a for a in sys.argv[1:] if a != "--child"])
    else:
        started = time.monotonic()
        main()
        print(f"  (ran in {time.monotonic() - started:.0f}s)")
