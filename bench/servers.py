"""Starting the real processes on loopback, each in a scratch folder: `enrolbot serve` (the
product), the Slack Web API stand-in (bench.standin, built on tests/support/slack_standin.py) and,
for comparison, a minimal Bolt app (bench.minimal_app); running `enrolbot` commands; reading what
the stand-in received and what a server logged. Processes, clean environments and free ports are
the tests' own helpers (tests/support/processes.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.workspace import ADMIN_EMAIL, BOT_TOKEN, SECRET_KEY, SIGNING_SECRET
from tests.support.processes import ENROLBOT, Process, env, free_port


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
