"""A real SMTP server on loopback (aiosmtpd) that keeps every message it is sent."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.support.processes import free_port


class Inbox:
    def __init__(self, port: int) -> None:
        self.url = f"smtp://127.0.0.1:{port}?from=alerts@acme.test"  # an SMTP_URL for it
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's hook
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def wait(self, count: int, seconds: float = 10) -> list[tuple[list[str], EmailMessage]]:
        """The messages once there are `count` of them, or all there are after `seconds`."""
        deadline = time.monotonic() + seconds
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@contextmanager
def smtp_server() -> Iterator[Inbox]:
    port = free_port()
    inbox = Inbox(port)
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        yield inbox
    finally:
        server.stop()
