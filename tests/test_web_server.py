"""How a real `enrolbot serve` holds up against floods and slow clients, over real sockets:
connections over the limit are turned away at once, clients that never finish a request are
cut off, and a flood of the same warning writes one line."""

from __future__ import annotations

import io
import logging
import select
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from bot.log_limits import RepeatedWarnings
from tests.support.processes import Server
from tests.support.servers import ServedApp
from tests.support.slack_standin import SlackStandIn
from tests.support.slack_world import BOT_TOKEN

KEY = "web-server-test-key-0123456789abcdef"


@pytest.fixture
def serve(tmp_path) -> Iterator:
    servers: list[Server] = []

    def start(*args: str, **settings: str) -> Server:
        server = Server(tmp_path, *args, ENROLBOT_SECRET_KEY=KEY, **settings)
        servers.append(server)
        server.wait_healthy()
        return server

    yield start
    for server in servers:
        server.stop()


def _trickling(port: int, count: int) -> list[socket.socket]:
    """`count` connections that each send the start of a request and never finish it."""
    clients = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        clients.append(s)
    return clients


def _closed_within(clients: list[socket.socket], seconds: float) -> list[bytes]:
    """Wait until the server has closed every client; what each one was told before that."""
    answers = {s: b"" for s in clients}
    open_ = set(clients)
    deadline = time.monotonic() + seconds
    while open_ and time.monotonic() < deadline:
        for s in select.select(list(open_), [], [], 0.2)[0]:
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                data = b""
            answers[s] += data
            if not data:
                open_.discard(s)
    for s in clients:
        s.close()
    assert not open_, f"{len(open_)} of {len(clients)} connections were still open"
    return list(answers.values())


def test_clients_that_never_finish_their_headers_are_cut_off_at_the_request_timeout(serve):
    server = serve("--timeout-request", "1")
    clients = _trickling(server.port, 200)
    time.sleep(0.5)
    for s in clients:  # still trickling: each byte must not buy more time
        s.sendall(b"a")
    began = time.monotonic()
    answers = _closed_within(clients, seconds=5)
    assert time.monotonic() - began < 3
    assert set(answers) == {
        b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    }
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_a_body_that_never_arrives_whole_is_cut_off_without_a_traceback(serve):
    slack = SlackStandIn()
    with ServedApp(slack.app) as standin:
        server = serve(
            "--timeout-request",
            "1",
            SLACK_SIGNING_SECRET="web-server-test-signing-secret",
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_API_URL=f"{standin.url}/api/",
        )
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            s.sendall(
                b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 100\r\n\r\npayload="
            )
            [answer] = _closed_within([s], seconds=5)
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        log = server.stop()
    assert "Traceback" not in log
    assert "closed a connection that sent no whole request in 1 s" in log


def test_connections_over_the_limit_are_answered_503_and_closed_at_once(serve):
    server = serve("--limit-concurrency", "20", "--timeout-request", "30")
    held = _trickling(server.port, 20)
    time.sleep(0.3)
    turned_away = _trickling(server.port, 30)
    answers = _closed_within(turned_away, seconds=3)
    assert {a.split(b"\r\n")[0] for a in answers} == {b"HTTP/1.1 503 Service Unavailable"}
    assert all(a.endswith(b"Too many connections: retry in a moment.\n") for a in answers)
    for s in held:
        s.close()
    deadline = time.monotonic() + 5
    while httpx.get(f"{server.url}/healthz").status_code != 200:  # room again once they leave
        assert time.monotonic() < deadline
        time.sleep(0.1)
    log = server.stop()
    # Thirty refusals, one line: the rest are counted into the next one written.
    assert log.count("refused a connection: 20 are open") == 1


def test_a_flood_of_broken_requests_writes_one_warning(serve):
    server = serve()
    for _ in range(300):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            s.recv(4096)
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    log = server.stop()
    assert log.count("Invalid HTTP request received.") == 1


def test_a_repeated_warning_is_written_once_per_interval_with_a_count_of_the_rest():
    now = [1000.0]
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RepeatedWarnings(interval=60, clock=lambda: now[0]))
    logger = logging.getLogger("tests.flood")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        for n in range(1000):
            logger.warning("refused a Bot Framework request: %s", f"bad token {n}")
        logger.warning("another kind of trouble")
        logger.info("information is never held back")
        logger.info("information is never held back")
        now[0] += 61
        logger.warning("refused a Bot Framework request: %s", "bad token 1000")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert out.getvalue().splitlines() == [
        "refused a Bot Framework request: bad token 0",
        "another kind of trouble",
        "information is never held back",
        "information is never held back",
        "refused a Bot Framework request: bad token 1000 "
        "[999 more like this not logged since the last]",
    ]


def test_connections_accepted_on_a_listener_made_as_workers_make_it_send_at_once():
    from bot.web.protocol import send_at_once

    # `serve --workers N`: uvicorn makes the listening socket without naming TCP, and asyncio
    # then leaves Nagle's algorithm on for the connections it accepts.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()

    class Transport:
        def get_extra_info(self, name: str) -> socket.socket | None:
            return accepted if name == "socket" else None

    try:
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        send_at_once(Transport())
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        for s in (accepted, client, listener):
            s.close()
