"""An ASGI app behind a synchronous httpx client, for hypothesis's synchronous tests."""

from __future__ import annotations

import asyncio

import httpx


class SyncASGI(httpx.BaseTransport):
    """The app runs on this transport's own event loop, one request at a time."""

    def __init__(self, app) -> None:
        self.loop = asyncio.new_event_loop()
        self._inner = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def send() -> httpx.Response:
            response = await self._inner.handle_async_request(request)
            body = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        return self.loop.run_until_complete(send())

    def close(self) -> None:
        self.loop.close()
