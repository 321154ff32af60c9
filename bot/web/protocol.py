"""uvicorn's h11 protocol with the two bounds it lacks (see bot.web.server): a connection over
the limit is answered 503 and closed at once, and one that has not sent a whole request within
the request timeout is closed. And every connection sends at once (TCP_NODELAY), whatever
the number of workers."""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.web.server import TIMEOUT_REQUEST, TIMEOUT_VARIABLE

log = logging.getLogger(__name__)

_BUSY_TEXT = b"Too many connections: retry in a moment.\n"
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_BUSY_TEXT), _BUSY_TEXT)
)
_LINGER_SECONDS = 1.0
_TOO_SLOW = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def send_at_once(transport: Any) -> None:
    """Turn Nagle's algorithm off for a TCP connection. asyncio does so only for a socket that
    says it is TCP, and with `serve --workers N` uvicorn listens on a socket it made without
    saying so (uvicorn issue 3149): an answer's body then waited for the client's delayed ACK
    of its headers, some 40 ms, on every request after the first on a kept-alive connection."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a connection limit enforced on connect and a deadline for
    each request to arrive whole."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeout_request = float(os.environ.get(TIMEOUT_VARIABLE, TIMEOUT_REQUEST))
        self.request_deadline: Any = None  # asyncio.TimerHandle while a request is arriving
        self.refused = False  # over the connection limit: answered 503, closing

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        send_at_once(transport)
        super().connection_made(transport)
        limit = self.limit_concurrency
        if limit is not None and len(self.connections) > limit:
            log.warning("refused a connection: %d are open, the limit (--limit-concurrency)", limit)
            self.refused = True
            transport.write(_BUSY)
            # Closing with the client's request unread would reset the connection, and the
            # reset can overtake the 503: say we are done, read and drop what the client sends
            # for a moment, then close.
            transport.write_eof()
            self.loop.call_later(_LINGER_SECONDS, transport.close)
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        super().data_received(data)
        if self.transport.is_closing():
            self._disarm()
        elif self.conn.their_state is h11.DONE:
            self._disarm()  # the request is in; the app's own time is not bounded here
        elif self.request_deadline is None:
            self._arm()  # the first bytes of the next request on a kept-alive connection

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self.request_deadline = self.loop.call_later(self.timeout_request, self._too_slow)

    def _disarm(self) -> None:
        if self.request_deadline is not None:
            self.request_deadline.cancel()
            self.request_deadline = None

    def _too_slow(self) -> None:
        self.request_deadline = None
        if self.transport.is_closing() or self.conn.their_state is h11.DONE:
            return
        log.warning(
            "closed a connection that sent no whole request in %g s (--timeout-request)",
            self.timeout_request,
        )
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(_TOO_SLOW)
        self.transport.close()
