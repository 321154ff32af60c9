"""How `enrolbot serve` bounds its clients: open connections, the accept queue, idle keep-alive
connections, and the time a client may take to send a whole request.

uvicorn bounds an idle keep-alive connection (`timeout_keep_alive`) but not a new one: a client
that opens a connection and trickles its headers a byte at a time holds a socket, and a file,
for as long as it likes (1,000 such clients stayed for 20 s and more, and a process allowed
1,024 files would have stopped accepting). Its `limit_concurrency` answers 503 only to a request
that has arrived whole, which such a client never sends. `bot.web.protocol` adds both bounds
that are missing: a connection over the limit is answered 503 and closed at once, and one that
has not sent a whole request (headers and body) within the request timeout is closed.
"""

from __future__ import annotations

import errno
import os
import resource
import socket
from collections.abc import Callable
from typing import Any

import click

LIMIT_CONCURRENCY = 1000
BACKLOG = 1024
TIMEOUT_KEEP_ALIVE = 5
TIMEOUT_REQUEST = 10.0
# Files the process needs beside its connections: the database pool, logs, outbound calls.
_SPARE_FILES = 200
# How serve hands the request timeout to its worker processes, which build their own protocol
# instances from uvicorn's config (that has no field for it).
TIMEOUT_VARIABLE = "ENROLBOT_SERVE_TIMEOUT_REQUEST"


# `serve`'s bound options: name, default, type and help, in the order --help lists them.
_OPTIONS = (
    (
        "--limit-concurrency",
        LIMIT_CONCURRENCY,
        click.IntRange(1),
        "Open connections per worker; more are answered 503 and closed.",
    ),
    (
        "--backlog",
        BACKLOG,
        click.IntRange(1),
        "Connections the kernel queues before the server accepts them.",
    ),
    (
        "--timeout-keep-alive",
        TIMEOUT_KEEP_ALIVE,
        click.IntRange(1),
        "Seconds an idle kept-alive connection stays open.",
    ),
    (
        "--timeout-request",
        TIMEOUT_REQUEST,
        click.FloatRange(0.1),
        "Seconds a client has to send a whole request, headers and body.",
    ),
)


def options(command: Callable) -> Callable:
    """`serve`'s options for the bounds above (defaults documented in the README)."""
    for name, default, kind, text in reversed(_OPTIONS):
        command = click.option(name, default=default, show_default=True, type=kind, help=text)(
            command
        )
    return command


def uvicorn_options(
    limit_concurrency: int, backlog: int, timeout_keep_alive: int, timeout_request: float
) -> dict[str, Any]:
    """uvicorn.run's keyword arguments for these bounds; the file limit is raised to fit."""
    os.environ[TIMEOUT_VARIABLE] = str(timeout_request)
    return {
        # Imported by uvicorn in each worker, so the CLI's other commands never load it.
        "http": "bot.web.protocol:BoundedH11Protocol",
        "limit_concurrency": _fit_file_limit(limit_concurrency),
        "backlog": backlog,
        "timeout_keep_alive": timeout_keep_alive,
    }


def _fit_file_limit(connections: int) -> int:
    """Raise the soft limit on open files so that `connections` fit beside what the process
    needs; where the hard limit forbids it, fewer connections, said in one line."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = connections + _SPARE_FILES
    if soft != resource.RLIM_INFINITY and soft < want:
        soft = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft != resource.RLIM_INFINITY and soft < want:
        fitted = max(1, soft - _SPARE_FILES)
        click.echo(
            f"Open files are limited to {soft} (ulimit -n), so at most {fitted} connections "
            f"are served, not {connections}."
        )
        return fitted
    return connections


def check_port(host: str, port: int) -> None:
    """Refuse at once when the address is taken, rather than saying "listening" and then
    failing inside uvicorn. (Another program could still take it in the moment between.)"""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise click.ClickException(f"Cannot listen on {host}: {exc.strerror}.") from None
    with socket.socket(family, kind, proto) as probe:
        # As uvicorn binds: a port whose last connections are still closing is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise click.ClickException(
                    f"Port {port} on {host} is taken: another program (another enrolbot?) "
                    "is listening there. Stop it, or choose another port with --port."
                ) from None
            raise click.ClickException(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None
