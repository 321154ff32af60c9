"""What every benchmark shares: starting the real processes, seeding a database, signing clicks
as Slack signs them, a load generator, and printing figures beside their targets. Processes,
clean environments, free ports and seeding are the tests' own helpers (tests/support/).

Every server runs as a real process on loopback: `enrolbot serve` (the product), the Slack Web
API stand-in (bench.standin, built on tests/support/slack_standin.py) and, for comparison, a
minimal Bolt app (bench.minimal_app). The benchmark script itself is the load generator.
"""

from __future__ import annotations

import asyncio
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx

from tests.support.processes import ENROLBOT, REPO, Process, env, free_port
from tests.support.seed import email_of, user_id  # noqa: F401  (scripts name people by them)
from tests.support.seed import many as seed_many
from tests.support.slack_world import action_body, slack_signature

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-test-token"  # the token the Slack stand-in accepts
SECRET_KEY = "bench-secret-key-0123456789abcdef"
TEAM = "T0ACME"
ADMIN_ID = "U0BOSS"
ADMIN_EMAIL = "boss@acme.test"
CLICK_CHANNEL = "C0CLICKS"
ALERT_CHANNEL = "C0ALERTS"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# Sizes ------------------------------------------------------------------------------------------


def knob(name: str, default: float) -> float:
    """A size from the environment (BENCH_...), for longer or shorter runs."""
    value = os.environ.get(name)
    return float(value) if value else default


def scale() -> float:
    """BENCH_SCALE multiplies every benchmark's duration and size (default 1)."""
    return knob("BENCH_SCALE", 1.0)


# People and clicks ------------------------------------------------------------------------------


def signed_headers(body: str) -> dict[str, str]:
    """Headers as Slack sends them, signed now (Bolt refuses timestamps over 5 minutes old)."""
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        **slack_signature(body, SIGNING_SECRET),
    }


def click_body(user: str, token: str, response_url: str, channel: str = CLICK_CHANNEL) -> str:
    """A `block_actions` payload for a click on an Enrol button, form-encoded as Slack posts it."""
    return action_body(user, "enrol", token, response_url, channel=channel)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def process_tree(pid: int) -> list[int]:
    tree, out, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(tree.get(p, []))
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live descendants."""
    total = 0.0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
        except (OSError, IndexError):
            pass
    return total


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, in MB (10^6 bytes)."""
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total / 1e6


def machine_cpu_seconds() -> float:
    """CPU time every process on the machine has used (from /proc/stat), for telling how much
    of it went to work that is not the benchmark's (another test run, say)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / CLK_TCK


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def standin(workdir: Path, *, users_delay: float = 0.0) -> Process:
    port = free_port()
    argv = [sys.executable, "-m", "bench.standin", "--port", str(port)]
    argv += ["--users-delay", str(users_delay)]
    return Process(
        "standin",
        argv,
        cwd=workdir,
        env=env(),
        port=port,
        ready_path="/bench/stats",
        log_dir=workdir,
    )


def enrolbot_settings(db_url: str, standin_url: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": db_url,
        "ENROLBOT_SECRET_KEY": SECRET_KEY,
        "ENROLBOT_PUBLIC_URL": "https://enrol.acme.test",
        "ENROLBOT_ADMINS": ADMIN_EMAIL,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": f"{standin_url}/api/",
        **extra,
    }


def enrolbot_command(settings: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """How to run `enrolbot`: the installed command, or with BENCH_TREE=/path/to/checkout the
    code of another work tree (`python -m bot.cli` there), to compare a change against this."""
    tree = os.environ.get("BENCH_TREE")
    if tree:
        return [sys.executable, "-m", "bot.cli"], env(**settings) | {"PYTHONPATH": tree}
    return [str(ENROLBOT)], env(**settings)


def enrolbot_serve(workdir: Path, settings: dict[str, str], *args: str) -> Process:
    port = free_port()
    command, environment = enrolbot_command(settings)
    argv = [*command, "serve", "--port", str(port), *args]
    return Process("enrolbot", argv, cwd=workdir, env=environment, port=port, log_dir=workdir)


def minimal_app(workdir: Path, standin_url: str) -> Process:
    port = free_port()
    argv = [sys.executable, "-m", "bench.minimal_app", "--port", str(port)]
    environment = env(
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=f"{standin_url}/api/",
    )
    return Process("minimal", argv, cwd=workdir, env=environment, port=port, log_dir=workdir)


def run_enrolbot(workdir: Path, settings: dict[str, str], *args: str) -> str:
    """Run an `enrolbot` command (db upgrade...) as a user would; its output."""
    command, environment = enrolbot_command(settings)
    done = subprocess.run(
        [*command, *args],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"enrolbot {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return done.stdout.strip()


@contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    """A scratch folder for databases and logs; BENCH_KEEP=1 keeps it (its path is printed)."""
    if os.environ.get("BENCH_KEEP"):
        path = Path(tempfile.mkdtemp(prefix=prefix))
        print(f"   keeping logs and databases in {path}", flush=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as d:
        yield Path(d)


_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Timeout|Exit)\w*): ?(.{0,100})")


def log_problems(proc: Process) -> dict[str, int]:
    """The exceptions a server logged, by type and the start of the message, with counts."""
    found: dict[str, int] = {}
    for row in proc.output().splitlines():
        match = _EXCEPTION.match(row)
        if match:
            key = f"{match.group(1)}: {match.group(2)}"
            found[key] = found.get(key, 0) + 1
    return found


def show_problems(proc: Process) -> None:
    problems = log_problems(proc)
    if not problems:
        print(f"  {proc.name} logged no exceptions", flush=True)
        return
    print(f"  exceptions {proc.name} logged (count, type: message):", flush=True)
    for key, count in sorted(problems.items(), key=lambda kv: -kv[1])[:8]:
        print(f"    {count:>6}  {key}", flush=True)


@contextmanager
def running(*procs: Process) -> Iterator[None]:
    try:
        yield
    finally:
        for p in reversed(procs):
            p.stop()


def standin_stats(standin_url: str, **params: str) -> dict:
    return httpx.get(f"{standin_url}/bench/stats", params=params, timeout=30).json()


def standin_reset(standin_url: str) -> None:
    httpx.post(f"{standin_url}/bench/reset", timeout=30)


def wait_replies(standin_url: str, count: int, timeout: float) -> dict:
    """Wait until the stand-in has received `count` response_url posts (or time runs out)."""
    deadline = time.monotonic() + timeout
    while True:
        stats = standin_stats(standin_url)
        if stats["responses"]["count"] >= count or time.monotonic() > deadline:
            return stats
        time.sleep(0.2)


# Database ---------------------------------------------------------------------------------------


async def seed(
    db_url: str, *, users: int, items: int, warm: bool, first_user: int = 0
) -> list[str]:
    """Bench items and people (tests/support/seed.py), signed with the bench key, in TEAM."""
    return await seed_many(
        db_url,
        key=SECRET_KEY,
        team=TEAM,
        users=users,
        items=items,
        warm=warm,
        first_user=first_user,
    )


async def db_scalar(db_url: str, statement) -> object:
    from store.db import make_engine, make_sessionmaker

    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            return await session.scalar(statement)
    finally:
        await engine.dispose()


def pg_admin_url() -> str:
    return os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


async def pg_execute(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(pg_admin_url())
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


# Load -------------------------------------------------------------------------------------------


@dataclass
class Sample:
    start: float  # monotonic: when the request was sent (open loop: when it was due)
    latency: float  # seconds until the HTTP answer (the ack)
    status: int


@dataclass
class LoadResult:
    samples: list[Sample]
    began: float
    ended: float

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.status == 200]

    @property
    def errors(self) -> int:
        return len(self.samples) - len(self.ok)

    @property
    def rps(self) -> float:
        return len(self.ok) / max(self.ended - self.began, 1e-9)

    def pct(self, p: float) -> float:
        return percentile([s.latency for s in self.ok], p)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


BodyMaker = Callable[[int], str]


async def _send(session: aiohttp.ClientSession, url: str, body: str) -> int:
    async with session.post(url, data=body.encode(), headers=signed_headers(body)) as response:
        await response.read()
        return response.status


def _connector(limit: int) -> aiohttp.TCPConnector:
    return aiohttp.TCPConnector(limit=limit, force_close=False, ttl_dns_cache=None)


async def closed_loop(
    url: str, make_body: BodyMaker, *, concurrency: int, seconds: float, first: int = 0
) -> LoadResult:
    """`concurrency` clients each sending the next click as soon as the last was acked."""
    samples: list[Sample] = []
    counter = iter(range(first, first + 10**9))
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=_connector(concurrency), timeout=timeout) as s:
        began = time.monotonic()
        deadline = began + seconds

        async def client() -> None:
            while time.monotonic() < deadline:
                body = make_body(next(counter))
                t = time.monotonic()
                try:
                    status = await _send(s, url, body)
                except (aiohttp.ClientError, TimeoutError):
                    status = 0
                samples.append(Sample(t, time.monotonic() - t, status))

        await asyncio.gather(*(client() for _ in range(concurrency)))
        ended = time.monotonic()
    return LoadResult(samples, began, ended)


async def open_loop(
    url: str, make_body: BodyMaker, *, rate: float, seconds: float, first: int = 0
) -> LoadResult:
    """Clicks sent at a steady `rate` whatever the answers do (no coordinated omission: each
    latency counts from when its click was due, not from when it was sent)."""
    samples: list[Sample] = []
    timeout = aiohttp.ClientTimeout(total=30)
    total = round(rate * seconds)
    async with aiohttp.ClientSession(connector=_connector(1000), timeout=timeout) as s:
        began = time.monotonic() + 0.05

        async def one(i: int, due: float) -> None:
            body = make_body(first + i)
            try:
                status = await _send(s, url, body)
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            samples.append(Sample(due, time.monotonic() - due, status))

        tasks = []
        for i in range(total):
            due = began + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
        ended = max(began + total / rate, time.monotonic())
    return LoadResult(samples, began, ended)


async def planned(url: str, plan: list[tuple[float, str]]) -> tuple[list[Sample], float]:
    """Send each (offset in seconds, body) of `plan` at its time; the samples in plan order,
    and the monotonic time the plan started."""
    samples: list[Sample | None] = [None] * len(plan)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=_connector(1000), timeout=timeout) as s:
        began = time.monotonic() + 0.05

        async def one(i: int, due: float, body: str) -> None:
            try:
                status = await _send(s, url, body)
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            samples[i] = Sample(due, time.monotonic() - due, status)

        tasks = []
        for i, (offset, body) in enumerate(plan):
            due = began + offset
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due, body)))
        await asyncio.gather(*tasks)
    return [s for s in samples if s is not None], began


# Printing ---------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def line(label: str, value: str, target: str = "", ok: bool | None = None) -> None:
    mark = "" if ok is None else f"  [{verdict(ok)}]"
    tgt = f"   target {target}" if target else ""
    print(f"  {label:<46} {value:>14}{tgt}{mark}", flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def machine() -> str:
    model = "?"
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                model = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}, "
        f"load average {load:.2f} at start; code {revision()}"
    )


def revision() -> str:
    """The commit the figures are for, and whether the work tree differed from it (read-only:
    --no-optional-locks keeps git from refreshing the index)."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "--no-optional-locks", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD") or "?"
        changed = git("status", "--porcelain", "--untracked-files=no")
    except OSError:
        return "?"
    return f"{head}+uncommitted changes" if changed else head


def header(title: str) -> None:
    print(f"== {title}", flush=True)
    print(f"   machine: {machine()}", flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
