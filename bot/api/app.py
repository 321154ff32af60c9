"""The REST API at /api/v1: each request authenticated by its API key, checked for its scope,
rate-limited per key, parsed into its endpoint's models, run in a transaction (POSTs with an
Idempotency-Key answered once), and answered as JSON or as problem details."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Mount, NoMatchFound, Route
from starlette.types import Receive, Scope, Send

from bot.api import (
    openapi,
    parsing,
    webhook_routes,  # noqa: F401  (declares the webhook endpoints on API)
)
from bot.api.endpoints import Answer, Call, Endpoint, Endpoints
from bot.api.problems import problem_response
from bot.api.ratelimit import TokenBuckets, Verdict
from bot.api.routes import API
from bot.runtime import Runtime
from handlers.api import idempotency, keys
from handlers.api.cursors import Cursors
from handlers.api.paging import Listing
from handlers.api.problems import ApiProblem
from store.models import ApiKey, utcnow

log = logging.getLogger(__name__)
PREFIX = "/api/v1"
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_REPLAYED = "Idempotent-Replayed"


class Api:
    def __init__(self, runtime: Runtime, endpoints: Endpoints = API) -> None:
        self.runtime = runtime
        self.endpoints = endpoints
        self.cursors = Cursors(runtime.signer.keys)
        settings = runtime.settings
        self.buckets = TokenBuckets(settings.api_rate_per_second, settings.api_rate_burst)
        self.document = openapi.document(endpoints, settings.public_url)

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [Route("/openapi.json", self.openapi, methods=["GET"])]
        for path, methods in self.endpoints.paths().items():
            routes.append(Route(path, self._handler(methods), methods=_METHODS))
        routes.append(_Rest(self.unknown, ""))  # inside the mount: paths no route matched
        return [Mount(PREFIX, routes=routes), _Rest(self.unknown, PREFIX)]

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(self.document)

    async def unknown(self, request: Request) -> Response:
        return problem_response(
            request,
            ApiProblem(
                "not-found", "No such endpoint: see /api/v1/openapi.json for the ones there are."
            ),
        )

    def _handler(self, methods: dict[str, Endpoint]) -> Any:
        async def handle(request: Request) -> Response:
            endpoint = methods.get(request.method)
            if endpoint is None:
                allow = ", ".join(methods)
                problem = ApiProblem("method-not-allowed", f"Use {allow} here.")
                return problem_response(request, problem, {"Allow": allow})
            return await self.handle(request, endpoint)

        handle.methods = tuple(methods)  # type: ignore[attr-defined]  (the OpenAPI test reads it)
        return handle

    async def handle(self, request: Request, endpoint: Endpoint) -> Response:
        verdict: Verdict | None = None
        try:
            key = await self._authenticate(request)
            verdict = self.buckets.take(key.id)
            if not verdict.allowed:
                raise ApiProblem(
                    "rate-limited",
                    f"This key may make {self.buckets.burst} requests at once and "
                    f"{self.buckets.rate:g} a second after that: wait {verdict.reset_seconds} "
                    "s (Retry-After) and try again.",
                )
            if endpoint.scope not in key.scopes:
                raise ApiProblem(
                    "forbidden",
                    f"This key lacks the scope {endpoint.scope}: make a key with "
                    f"`enrolbot apikey create NAME --scope {endpoint.scope}`.",
                    scope=endpoint.scope,
                )
            response = await self._run(request, endpoint, key)
        except ApiProblem as problem:
            response = problem_response(request, problem, _unauthorized(problem))
            if problem.kind == "rate-limited" and verdict is not None:
                response.headers["Retry-After"] = str(verdict.reset_seconds)
        if verdict is not None:
            response.headers["RateLimit-Limit"] = str(verdict.limit)
            response.headers["RateLimit-Remaining"] = str(verdict.remaining)
            response.headers["RateLimit-Reset"] = str(verdict.reset_seconds)
        return response

    async def _authenticate(self, request: Request) -> ApiKey:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise ApiProblem(
                "unauthorized",
                "Send your API key as Authorization: Bearer eb_live_...; an admin makes one "
                "with `enrolbot apikey create`.",
                missing=True,
            )
        async with self.runtime.sessions() as session:
            key = await keys.authenticate(session, presented.strip())
            if key is not None:
                session.expunge(key)
        if key is None:
            raise ApiProblem(
                "unauthorized",
                "This API key is unknown or was revoked: ask an admin for a key "
                "(`enrolbot apikey list` shows the live ones).",
            )
        return key

    async def _run(self, request: Request, endpoint: Endpoint, key: ApiKey) -> Response:
        params = parsing.path_params(request, endpoint)
        query = parsing.query(request, endpoint.query)
        raw = await request.body() if endpoint.writes else b""
        body = parsing.body(raw, request.headers.get("content-type", ""), endpoint.body)
        idem = request.headers.get("idempotency-key") if endpoint.method == "POST" else None
        if idem is not None and not 0 < len(idem) <= idempotency.MAX_KEY:
            raise ApiProblem("bad-request", "An Idempotency-Key is 1 to 255 characters long.")
        hashed = idempotency.request_hash(request.method, request.url.path, raw)

        async def work(session: Any) -> tuple[int, dict[str, Any], bool]:
            organisation = await self.runtime.organisation(session)
            if organisation.id != key.organisation_id:
                raise ApiProblem("unauthorized", "This API key is for another organisation.")
            if idem is not None:
                kept = await idempotency.replay(session, key.id, idem, hashed)
                if kept is not None:
                    return kept[0], kept[1], True
            listing = Listing(session, organisation.id, self.cursors)
            call = Call(
                listing, organisation, key, params, query, body, settings=self.runtime.settings
            )
            answer: Answer = await endpoint.run(call)
            content = answer.model.model_dump(mode="json")
            if idem is not None:
                await idempotency.remember(
                    session, key.id, idem, hashed, answer.status, content, utcnow()
                )
            return answer.status, content, False

        status, content, replayed = await self._transact(work, endpoint.writes)
        response = JSONResponse(content, status_code=status)
        if idem is not None:
            response.headers[_REPLAYED] = json.dumps(replayed)
        return response

    async def _transact(self, work: Any, writes: bool) -> Any:
        if not writes:
            async with self.runtime.sessions() as session:
                return await work(session)
        try:
            return await self.runtime.transact(work)
        except IntegrityError:
            # A concurrent twin (same Idempotency-Key, or the same new slug or person) won
            # the race: run again, which now finds what it wrote.
            try:
                return await self.runtime.transact(work)
            except IntegrityError:
                raise ApiProblem(
                    "conflict", "Another request changed this at the same moment: try again."
                ) from None


class _Rest(BaseRoute):
    """Every other path under /api/v1, whatever characters it holds (a Mount's pattern does
    not match a newline), inside the mount and beside it: a 404 problem, never the plain-text
    page. `prefix` only tells the two apart when debugging."""

    def __init__(self, endpoint: Any, prefix: str) -> None:
        self.endpoint = endpoint
        self.prefix = prefix

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == PREFIX or path.startswith(PREFIX + "/")):
            return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **params: Any) -> Any:
        raise NoMatchFound(name, params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.endpoint(Request(scope, receive))
        await response(scope, receive, send)


def _unauthorized(problem: ApiProblem) -> dict[str, str] | None:
    """RFC 6750's challenge: bare when no key was sent, invalid_token for a bad one."""
    if problem.kind != "unauthorized":
        return None
    missing = problem.extra.pop("missing", False)
    challenge = 'Bearer realm="enrolbot"'
    if not missing:
        challenge += ', error="invalid_token"'
    return {"WWW-Authenticate": challenge}
