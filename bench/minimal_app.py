"""The baseline for click throughput: a minimal Bolt AsyncApp whose Enrol action only acks and
posts a reply to the click's `response_url`. Served exactly as `enrolbot serve` serves the bot
(uvicorn.run with a factory, log level info, access log on, no proxy headers), and given the
same advantages (one shared HTTP session for replies), so the ratio measures enrolbot's own work.

    python -m bench.minimal_app --port 8200
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

REPLY = {
    "response_type": "ephemeral",
    "replace_original": False,
    "text": "You're enrolled in Bench topic.",
    "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "You're enrolled in Bench topic."}}
    ],
}


def create() -> Starlette:
    client = AsyncWebClient(
        token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]
    )
    bolt = AsyncApp(signing_secret=os.environ["SLACK_SIGNING_SECRET"], client=client)
    shared: dict[str, aiohttp.ClientSession] = {}

    @bolt.action("enrol")
    async def enrol(ack: AsyncAck, body: dict) -> None:
        await ack()
        webhook = AsyncWebhookClient(url=body["response_url"], session=shared["session"])
        await webhook.send_dict(REPLY)

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        shared["session"] = client.session = aiohttp.ClientSession()
        yield
        await shared["session"].close()

    return Starlette(
        routes=[
            Route("/slack/events", events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        "bench.minimal_app:create",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        log_level="info",
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
