"""Request bodies over a fixed size are refused with 413 before anything reads or parses them.

Slack and the Bot Framework sign their requests, but a signature can only be checked once the
body is in memory: without a limit, one unsigned 100 MB POST grew the process by 300 MB. Every
body either caller sends is a few kilobytes, so 1 MiB leaves ample room.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024

_REFUSAL = b"Request body too large: the limit is 1 MiB.\n"


class BodySizeLimit:
    """Pure ASGI middleware: a Content-Length over the limit is refused at once, unread; a body
    without one (chunked) is counted as it streams and cut off when it passes the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _refuse(send)
            return

        received = 0
        started = False
        refused = False
        disconnected = False

        async def counting_receive() -> Message:
            nonlocal received, refused, disconnected
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected = True
            elif message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes and not started:
                    # Answer now and tell the app the client went away: it stops reading,
                    # and nothing more of the body is buffered.
                    refused = True
                    await _refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent; whatever the app answers after it is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except ClientDisconnect:
            # The client went away mid-body (or took too long and the server closed it):
            # nobody is left to answer, and it is no fault of ours worth a traceback.
            if not (refused or disconnected):
                raise
        except Exception:
            # The app may raise on the disconnect it was handed; the client has its answer.
            if not refused:
                raise


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            # The server has already refused a Content-Length that is not a number.
            return int(value) if value.strip().isdigit() else None
    return None


async def _refuse(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(_REFUSAL)).encode()),
                # The rest of the body is never read: the connection cannot carry another request.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _REFUSAL})
