"""Running the real `enrolbot` command, as a user would, and other servers as child processes:
shared by the tests and the benchmarks (bench/)."""

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

REPO = Path(__file__).resolve().parents[2]
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


# Settings the product reads from the environment: a child process gets only those its caller
# names, never the developer's own.
PRODUCT_SETTINGS = (
    "ENROLBOT_",
    "SLACK_",
    "MICROSOFT_",
    "SMTP_",
    "TEAMS_",
    "BOTFRAMEWORK_",
    "XAPI_",
    "MOODLE_",
)


def env(**settings: str) -> dict[str, str]:
    """A clean environment for a child process: this one's, less the product's settings, with
    the repository importable (`python -m bench.standin`, tests.support), plus `settings`."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(PRODUCT_SETTINGS) and k != "DATABASE_URL"
    }
    base["PYTHONPATH"] = str(REPO)
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


class Process:
    """A server in a child process, its output in a log file, up once `ready_path` answers."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        cwd: Path,
        env: dict[str, str],
        port: int,
        ready_path: str = "/healthz",
        log_dir: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.cwd = cwd
        self.env = env
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ready_path = ready_path
        # A file, not a pipe: a pipe nobody reads fills up and stops the server mid-test. Kept
        # out of `cwd` unless asked: tests look at what the product writes there.
        if log_dir is None:
            with tempfile.NamedTemporaryFile(suffix=f"-{name}.log", delete=False) as f:
                self.log_path = Path(f.name)
        else:
            self.log_path = log_dir / f"{name}-{port}.log"
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0
        self.ready_at = 0.0

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was not started"
        return self.process.pid

    def spawn(self) -> Process:
        with self.log_path.open("w") as log:
            self.started_at = time.monotonic()
            self.process = subprocess.Popen(
                self.argv, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def start(self, timeout: float = 30) -> Process:
        """Spawn the process and wait until it answers 200 at `ready_path`."""
        self.spawn().wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 20, *, any_status: bool = False) -> httpx.Response:
        """The first answer at `ready_path` (a 200 one unless `any_status`); fails if the
        process exits or does not answer in time."""
        assert self.process is not None, f"{self.name} was not started"
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"{self.name} exited: {self.output()[-3000:]}")
                try:
                    response = client.get(self.url + self.ready_path)
                    if any_status or response.status_code == 200:
                        self.ready_at = time.monotonic()
                        return response
                except httpx.TransportError:
                    pass
                time.sleep(0.005)
        raise AssertionError(
            f"{self.name} did not answer {self.ready_path} in {timeout} s: {self.output()[-3000:]}"
        )

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> str:
        """Stop the process (SIGTERM, then SIGKILL after 15 s); everything it wrote."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.output()


class Server(Process):
    """`enrolbot serve` in a child process, started at once; up once /healthz answers."""

    def __init__(self, cwd: Path, *args: str, **settings: str) -> None:
        port = free_port()
        argv = [str(ENROLBOT), "serve", "--port", str(port), *args]
        super().__init__("enrolbot", argv, cwd=cwd, env=env(**settings), port=port)
        self.spawn()

    def wait_healthy(self, timeout: float = 20) -> httpx.Response:
        """The first answer /healthz gives, whatever its status."""
        return self.wait_ready(timeout, any_status=True)
