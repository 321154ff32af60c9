"""What the HTTP edge refuses before any work: oversized bodies."""

from __future__ import annotations

import select
import socket

import pytest

from tests.support.slack_world import SlackWorld

MiB = 1024 * 1024


@pytest.fixture
def world(db_url):
    with SlackWorld(db_url) as w:
        yield w


def _exchange(port: int, head: bytes, chunks: list[bytes] = (), timeout: float = 10) -> bytes:
    """Send a raw request, the body as given (maybe none of it), stopping once the server has
    answered; the answer, read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head)
        for chunk in chunks:
            if select.select([s], [], [], 0)[0]:
                break  # the answer is in: a client would stop sending too
            try:
                s.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        answer = b""
        try:
            while chunk := s.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass  # closed with some of our body unread: what came before the reset stands
        return answer


def test_a_declared_body_over_1_mib_is_refused_at_once_without_being_read(world):
    # 100 MB announced, not a byte of it sent: the answer comes before any body does.
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: enrol.acme.test\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 100000000\r\n\r\n"
    )
    answer = _exchange(world._bot.port, head, timeout=5)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"Request body too large: the limit is 1 MiB." in answer


def test_a_chunked_body_is_cut_off_when_it_passes_1_mib(world):
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: enrol.acme.test\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    piece = b"a" * 65536
    chunks = [b"%x\r\n%s\r\n" % (len(piece), piece)] * 40 + [b"0\r\n\r\n"]  # 2.5 MiB in all
    answer = _exchange(world._bot.port, head, chunks)
    assert answer.startswith(b"HTTP/1.1 413 ")


def test_a_body_just_under_the_limit_still_reaches_the_signature_check(world):
    body = "a=" + "b" * (MiB - 10)
    response = world.http.post(
        "/slack/events",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 401  # unsigned, so Bolt refuses it; not 413
