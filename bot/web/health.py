"""GET /healthz for load balancers and GET /metrics for Prometheus."""

from __future__ import annotations

import asyncio
import hmac
import logging

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

log = logging.getLogger(__name__)

DATABASE_TIMEOUT_SECONDS = 3


async def healthz(request: Request) -> JSONResponse:
    runtime = request.app.state.runtime
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
            async with runtime.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:
        # The reason names the failure, never the URL: it may carry a password.
        reason = "database timed out" if isinstance(exc, TimeoutError) else "database unavailable"
        log.warning("health check failed: %s (%s)", reason, type(exc).__name__)
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ok"})


async def metrics(request: Request) -> Response:
    token = request.app.state.runtime.settings.metrics_token
    if token and not _bearer_matches(request.headers.get("authorization", ""), token):
        return Response(
            "/metrics needs the bearer token set in ENROLBOT_METRICS_TOKEN.\n",
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    # compare_digest takes as long whatever the first differing byte: timing tells a caller
    # nothing about how much of the token it has right.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )
