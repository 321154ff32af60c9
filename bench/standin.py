"""Slack's Web API and `response_url`, stood in for by tests/support/slack_standin.py, served by
uvicorn in a process of its own so that its work is not the bot's.

Additions for benchmarks: any Slack user id UB<number> is a workspace member with the email
bench<number>@acme.test; `users.info` can be made to answer after a set delay; every
`response_url` is accepted and counted (what the reply said, when it came); and
GET /bench/stats, POST /bench/reset report and clear what happened.

    python -m bench.standin --port 8100 [--users-delay 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from collections import Counter
from typing import Any

import uvicorn

from bench.workspace import ADMIN_EMAIL, ADMIN_ID, ALERT_CHANNEL, CLICK_CHANNEL, email_of
from tests.support.slack_standin import SlackStandIn, member

_PEOPLE = re.compile(r"\*([\d,]+) self-enrolments?\*")


class BenchSlack(SlackStandIn):
    def _users_info(self, args: dict) -> dict:
        uid = args.get("user", "")
        if uid.startswith("UB") and uid[2:].isdigit() and uid not in self.users:
            n = int(uid[2:])
            self.add_user(member(uid, email_of(n), "Bench", f"User{n}"))
        return super()._users_info(args)


def _outcome(text: str) -> str:
    text = re.sub(r"^:[a-z_]+: ", "", text)
    if text.startswith("You're enrolled"):
        return "enrolled"
    if text.startswith("You're already enrolled"):
        return "already_enrolled"
    if text.startswith("Sorry, something went wrong"):
        return "error"
    return text[:60]


def _people(args: dict) -> int:
    blocks = args.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    first = (blocks[0].get("text") or {}).get("text", "") if blocks else ""
    match = _PEOPLE.search(first)
    return int(match.group(1).replace(",", "")) if match else 1


class Bench:
    """An ASGI app in front of the stand-in: fast `response_url` counting, delays, stats."""

    def __init__(self, users_delay: float) -> None:
        self.slack = BenchSlack()
        self.slack.add_user(member(ADMIN_ID, ADMIN_EMAIL, "Bo", "Boss"))
        self.slack.add_channel(CLICK_CHANNEL)
        self.slack.add_channel(ALERT_CHANNEL)
        self.users_delay = users_delay
        self.reset()

    def reset(self) -> None:
        self.reply_times: list[float] = []
        self.outcomes: Counter[str] = Counter()
        self.reply_of: dict[str, tuple[float, str]] = {}  # response_url id: (when, outcome)
        self.replies: dict[str, str] = {}  # named response_urls (not numbers): their last text
        with self.slack._lock:
            self.slack.calls.clear()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.slack.app(scope, receive, send)
        path = scope["path"]
        if path.startswith("/response/"):
            return await self._response(path[len("/response/") :], receive, send)
        if path == "/bench/stats":
            return await self._json(send, self.stats(scope.get("query_string", b"")))
        if path == "/bench/reset":
            self.reset()
            return await self._json(send, {"ok": True})
        if path == "/api/users.info" and self.users_delay:
            await asyncio.sleep(self.users_delay)
        return await self.slack.app(scope, receive, send)

    async def _response(self, rid: str, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        at = time.monotonic()
        try:
            reply = json.loads(body)
            blocks = reply.get("blocks") or []
            text = blocks[0]["text"]["text"] if blocks else reply.get("text", "")
        except (ValueError, KeyError, IndexError, TypeError):
            text = "(unreadable)"
        self.reply_times.append(at)
        outcome = _outcome(text)
        self.outcomes[outcome] += 1
        self.reply_of[rid] = (at, outcome)
        if not rid.isdigit():
            self.replies[rid] = text
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def _json(self, send: Any, data: dict) -> None:
        body = json.dumps(data).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def stats(self, query: bytes) -> dict:
        with self.slack._lock:
            calls = list(self.slack.calls)
        users_info = Counter(c.args.get("user", "") for c in calls if c.method == "users.info")
        messages = [
            {"channel": c.args.get("channel"), "at": c.at, "people": _people(c.args)}
            for c in calls
            if c.method == "chat.postMessage" and not c.failed
        ]
        times = self.reply_times
        data = {
            "now": time.monotonic(),
            "responses": {
                "count": len(times),
                "first": times[0] if times else None,
                "last": times[-1] if times else None,
                "outcomes": dict(self.outcomes),
            },
            "replies": self.replies,
            "calls": dict(Counter(c.method for c in calls)),
            "users_info": {
                "calls": sum(users_info.values()),
                "distinct": len(users_info),
                "per_user": dict(users_info) if b"per_user" in query else {},
            },
            "messages": messages,
        }
        if b"times" in query:
            data["reply_times"] = times
        if b"per_reply" in query:
            data["per_reply"] = self.reply_of
        return data


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--users-delay", type=float, default=0.0)
    args = parser.parse_args()
    bench = Bench(args.users_delay)
    uvicorn.run(bench, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
