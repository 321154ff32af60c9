"""What can go wrong in an API call, raised by the API's handlers and rendered by bot/api as
RFC 9457 problem details. Each kind has a stable slug (the problem's `type` ends with it) and a
title; the detail is a sentence saying what to do."""

from __future__ import annotations

from typing import Any

# slug: (status, title) — docs/api.md's table of problem types lists the same.
KINDS: dict[str, tuple[int, str]] = {
    "unauthorized": (401, "Missing or unknown API key"),
    "forbidden": (403, "The API key lacks a scope"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "bad-request": (400, "The request is malformed"),
    "bad-cursor": (400, "The cursor is not valid here"),
    "invalid-body": (422, "The request body is not valid"),
    "invalid-query": (400, "The query string is not valid"),
    "unsupported-media-type": (415, "The body must be JSON"),
    "idempotency-key-reused": (422, "The Idempotency-Key was used for a different request"),
    "conflict": (409, "The request conflicts with what is there"),
    "refused": (422, "A rule of the product refuses the request"),
    "rate-limited": (429, "Too many requests"),
}


class ApiProblem(Exception):
    def __init__(self, kind: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.kind = kind
        self.status, self.title = KINDS[kind]
        self.detail = detail
        self.extra = extra


def not_found(what: str, key: object) -> ApiProblem:
    return ApiProblem("not-found", f"No {what} {key} here: check the {what}'s id or spelling.")
