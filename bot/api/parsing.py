"""Reading a request's path parameters, query string and JSON body into the endpoint's
models; anything that does not fit is a problem naming the field."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from bot.api.endpoints import Endpoint
from handlers.api.problems import ApiProblem, not_found
from handlers.api.schemas import FieldError

_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_MAX_ID = 2**62


def path_params(request: Request, endpoint: Endpoint) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, kind in endpoint.params.items():
        raw = request.path_params.get(name, "")
        if kind == "int":
            if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) < _MAX_ID:
                raise not_found(name, raw[:50])
            params[name] = int(raw)
        else:
            if not _SLUG.match(raw):
                raise not_found("catalog item", raw[:100])
            params[name] = raw
    return params


def _errors(exc: ValidationError, where: str) -> list[FieldError]:
    return [
        FieldError(
            field=".".join([where, *(str(p) for p in error["loc"])]),
            message=error["msg"],
        )
        for error in exc.errors(include_url=False)[:20]
    ]


def query(request: Request, model: type[BaseModel] | None) -> BaseModel | None:
    if model is None:
        return None
    items = list(request.query_params.multi_items())
    names = [name for name, _ in items]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ApiProblem("invalid-query", f"Give {', '.join(repeated)} once only.")
    try:
        return model.model_validate(dict(items))
    except ValidationError as exc:
        raise ApiProblem(
            "invalid-query",
            "The query string has values that are not valid: see errors.",
            errors=_errors(exc, "query"),
        ) from None


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python reads NaN and Infinity; JSON has neither


def body(raw: bytes, content_type: str, model: type[BaseModel] | None) -> BaseModel | None:
    if model is None:
        return None
    if not raw.strip():
        data: Any = {}
    else:
        if content_type.split(";")[0].strip().lower() not in ("application/json", ""):
            raise ApiProblem(
                "unsupported-media-type", "Send the body as JSON (Content-Type: application/json)."
            )
        try:
            data = json.loads(raw, parse_constant=_not_json)
        except (ValueError, RecursionError):
            raise ApiProblem(
                "bad-request", "The body is not valid JSON: check quotes, commas and braces."
            ) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiProblem(
            "invalid-body",
            "The body has fields that are missing or not valid: see errors.",
            errors=_errors(exc, "body"),
        ) from None
