"""Ralph, a real Learning Record Store (PyPI `ralph-malph` 5.x), run on loopback with its
file-system backend, which needs no database server.

Ralph pins an older Starlette than enrolbot's (its FastAPI 0.114 needs Starlette < 0.39), so it
lives in a virtual environment of its own under the repository's `.cache/ralph-venv`
(git-ignored), made once by the first test that needs it and reused after; a lock keeps the
test processes that start together (xdist's workers, CI's PostgreSQL pass) from making it
twice. Its users are in an auth file of bcrypt hashes written by `ralph auth`, as Ralph's
documentation says to make one.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".cache" / "ralph-venv"
# `cli` brings `ralph runserver` and `ralph auth`, `lrs` the server; the file-system backend is
# built in. Ralph's OIDC module imports requests, which none of its extras installs.
REQUIREMENTS = ("ralph-malph[cli,lrs]>=5,<6", "requests")
INSTALL_SECONDS = 900
USERNAME, PASSWORD = "enrolbot", "lrs-password-for-tests"


class RalphUnavailable(RuntimeError):
    """Ralph's environment could not be made here; the message says why."""


def ralph_command() -> Path:
    """The `ralph` executable in its own environment, made first if need be."""
    ralph = VENV / "bin" / "ralph"
    marker = VENV / ".requirements"
    wanted = "\n".join(REQUIREMENTS)
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / "ralph-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ralph.exists() and marker.exists() and marker.read_text() == wanted:
            return ralph
        shutil.rmtree(VENV, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(VENV)], "making its virtual environment")
        pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", *REQUIREMENTS]
        _run(pip, "installing ralph-malph from the package index")
        marker.write_text(wanted)
    return ralph


def _run(command: list[str], what: str) -> None:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=INSTALL_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RalphUnavailable(f"{what} failed: {exc}") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RalphUnavailable(f"{what} failed: {' / '.join(tail)}")


class Ralph:
    """Ralph's LRS with the file-system backend on a free loopback port (tests/support/ralph_serve.py),
    with one user who may do everything."""

    def __init__(self, ralph: Path, workdir: Path) -> None:
        self.ralph, self.workdir = ralph, workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("RALPH_")},
            "RALPH_APP_DIR": str(workdir / "app"),
            "RALPH_AUTH_FILE": str(workdir / "auth.json"),
            "RALPH_RUNSERVER_BACKEND": "fs",
            "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(workdir / "data"),
        }
        self.process: subprocess.Popen | None = None

    @property
    def xapi_endpoint(self) -> str:
        return f"{self.url}/xAPI"

    def __enter__(self) -> Ralph:
        auth = [str(self.ralph), "auth", "-u", USERNAME, "-p", PASSWORD, "-s", "all", "-w"]
        auth += ["-M", "mailto:enrolbot-lrs@example.com"]
        subprocess.run(auth, env=self.env, cwd=self.workdir, capture_output=True, check=True)
        python = self.ralph.parent / "python"
        serve = [str(python), str(Path(__file__).with_name("ralph_serve.py")), str(self.port)]
        self.log = open(self.workdir / "ralph.log", "w")
        self.process = subprocess.Popen(
            serve, env=self.env, cwd=self.workdir, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Ralph stopped: {(self.workdir / 'ralph.log').read_text()}")
            try:
                if httpx.get(f"{self.url}/__heartbeat__", timeout=1).status_code == 200:
                    self.statements()  # warms its lazy imports and its cache of the user's hash
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("Ralph did not answer within 60 s")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def statements(self, **query: str) -> list[dict]:
        """Every statement the LRS holds (GET /xAPI/statements, following `more`)."""
        found: list[dict] = []
        url = f"{self.xapi_endpoint}/statements"
        params: dict | None = {"limit": "500", **query}
        with httpx.Client(auth=(USERNAME, PASSWORD), timeout=10) as client:
            while url:
                answer = client.get(
                    url, params=params, headers={"X-Experience-API-Version": "1.0.3"}
                )
                answer.raise_for_status()
                body = answer.json()
                found += body["statements"]
                more = body.get("more")
                url, params = (f"{self.url}{more}" if more else ""), None
        return found
