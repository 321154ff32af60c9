"""Running the real `enrolbot` command, as a user would."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ENROLBOT = Path(sys.executable).parent / "enrolbot"


def free_port() -> int:
    """A free port below the kernel's ephemeral range. A port the kernel hands out (bind to 0)
    can be taken, between our check and the server's bind, as the source port of any outgoing
    connection, this test run's or one running beside it (CI runs two)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(200):
        port = random.randint(10000, low - 1)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found below the ephemeral range")


def env(**settings: str) -> dict[str, str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ENROLBOT_", "SLACK_", "MICROSOFT_")) and k != "DATABASE_URL"
    }
    return base | settings


def enrolbot(
    *args: str, cwd: Path, timeout: float = 60, **settings: str
) -> subprocess.CompletedProcess:
    if not ENROLBOT.exists():
        raise AssertionError(f"{ENROLBOT} is missing: install the project (pip install -e .)")
    return subprocess.run(
        [str(ENROLBOT), *args],
        cwd=cwd,
        env=env(**settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Server:
    """`enrolbot serve` in a child process, up once /healthz answers."""

    def __init__(self, cwd: Path, *args: str, **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # A file, not a pipe: a pipe nobody reads fills up and stops the server mid-test.
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [str(ENROLBOT), "serve", "--port", str(self.port), *args],
            cwd=cwd,
            env=env(**settings),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_healthy(self, timeout: float = 20) -> httpx.Response:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"enrolbot serve exited: {self.output()}")
            try:
                return httpx.get(f"{self.url}/healthz", timeout=2)
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("enrolbot serve did not answer /healthz in time")

    def output(self) -> str:
        return Path(self.log.name).read_text()

    def stop(self) -> str:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.output()
