"""A webhook receiver as the Standard Webhooks specification tells one to be written: it
verifies every delivery's signature with the `standardwebhooks` library, keeps each event once
by its `webhook-id`, and answers 2xx. Tests script it to fail first (500s, answers too slow),
and it serves for real on loopback (tests/support/servers.py), which webhooks reach only with
ENROLBOT_WEBHOOK_ALLOW_PRIVATE on: LOOPBACK (settings) and LOOPBACK_RULES (handlers) say so."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from handlers.webhook_address import AddressRules

OK, FAIL, SLOW = "ok", "fail", "slow"
LOOPBACK = {"ENROLBOT_WEBHOOK_ALLOW_PRIVATE": "true"}
LOOPBACK_RULES = AddressRules(allow_private=True)
# The ENROLBOT_SECRET_KEY that handler-level tests seal webhook secrets with.
KEYS = ("webhook-test-key-0123456789abcdef0123456789",)


@dataclass
class Receiver:
    secret: str = ""
    mode: str = OK
    slow_seconds: float = 2.0
    hits: int = 0  # requests that arrived, duplicates and failures included
    unverified: int = 0  # requests whose signature did not verify
    ids: list[str] = field(default_factory=list)  # webhook-ids, first arrival order, each once
    events: dict[str, dict] = field(default_factory=dict)  # by webhook-id

    async def hook(self, request: Request) -> Response:
        self.hits += 1
        body = await request.body()
        try:
            event = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.unverified += 1
            return JSONResponse({"error": "bad signature"}, status_code=400)
        if self.mode == FAIL:
            return JSONResponse({"error": "down for maintenance"}, status_code=500)
        if self.mode == SLOW:
            # Takes the event, but answers after the sender stopped waiting: it will come again.
            await asyncio.sleep(self.slow_seconds)
        msg_id = request.headers["webhook-id"]
        if msg_id not in self.events:
            self.ids.append(msg_id)
            self.events[msg_id] = event
        return Response(status_code=204)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    def received(self) -> list[dict]:
        return [self.events[i] for i in self.ids]

    def dump(self) -> str:
        return json.dumps(self.received(), indent=1)
