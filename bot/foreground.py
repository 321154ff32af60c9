"""Requests first: the service's background work waits while requests are being answered.

Both share one event loop (and on SQLite one database file). The outbox alone, sending the
10,000 learner messages of a spreadsheet import, kept the loop busy with 32 lanes' database
work at a time, and each click waited behind all of it: click p99 0.4-1 s, long after the
import itself had finished (bench/enrol_import.py). So background work opens its sessions
through `Foreground.background`: one background session at a time, each opened only once no
request is in flight (or after PATIENCE, so a steady stream of requests cannot starve it).
A request that arrives meanwhile waits for at most the one background transaction under way.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

# The longest background work waits for a gap between requests before it goes ahead anyway.
PATIENCE = 0.5


class Foreground:
    """How many requests are being answered, and the background's turns between them."""

    def __init__(self, patience: float = PATIENCE) -> None:
        self.patience = patience
        self._requests = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._turn = asyncio.Lock()

    def entered(self) -> None:
        self._requests += 1
        self._quiet.clear()

    def left(self) -> None:
        self._requests -= 1
        if self._requests == 0:
            self._quiet.set()

    async def take_turn(self) -> None:
        """Until it is the caller's turn: no other background session open, no request in
        flight (or PATIENCE waited for one). Give it back with `give_turn`."""
        await self._turn.acquire()
        try:
            with suppress(TimeoutError):
                async with asyncio.timeout(self.patience):
                    await self._quiet.wait()
        except BaseException:
            self._turn.release()
            raise

    def give_turn(self) -> None:
        self._turn.release()

    def background(self, sessions: async_sessionmaker[AsyncSession]) -> BackgroundSessions:
        """`sessions` for background work: each session waits its turn."""
        return BackgroundSessions(self, sessions)


class BackgroundSessions:
    """Called like an async_sessionmaker, for `async with sessions() as session` work: the
    session is opened once it is the background's turn, and the turn given back on close."""

    def __init__(self, foreground: Foreground, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.foreground = foreground
        self.sessions = sessions

    def __call__(self) -> _InTurn:
        return _InTurn(self.foreground, self.sessions)


class _InTurn:
    def __init__(self, foreground: Foreground, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.foreground = foreground
        self.sessions = sessions
        self.session: AsyncSession | None = None

    async def __aenter__(self) -> AsyncSession:
        await self.foreground.take_turn()
        try:
            self.session = self.sessions()
            return await self.session.__aenter__()
        except BaseException:
            self.foreground.give_turn()
            raise

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            assert self.session is not None
            await self.session.__aexit__(kind, exc, tb)
        finally:
            self.foreground.give_turn()


class CountRequests:
    """Pure ASGI middleware: each HTTP request is counted as in flight until answered."""

    def __init__(self, app: ASGIApp, foreground: Foreground) -> None:
        self.app = app
        self.foreground = foreground

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.foreground.entered()
        try:
            await self.app(scope, receive, send)
        finally:
            self.foreground.left()
