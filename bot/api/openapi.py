"""The OpenAPI 3.1 document, generated from the endpoint declarations (bot/api/routes.py) and
their pydantic models, whose JSON Schemas (2020-12) OpenAPI 3.1 takes as they are."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bot.api.endpoints import Endpoint, Endpoints
from handlers.api.keys import SCOPES
from handlers.api.problems import KINDS
from handlers.api.schemas import Problem

_REF = "#/components/schemas/{model}"
_PROBLEM = {
    "description": "problem details (RFC 9457)",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
_RATE_HEADERS = {
    name: {"description": text, "schema": {"type": "integer"}}
    for name, text in (
        ("RateLimit-Limit", "requests this key may make at once"),
        ("RateLimit-Remaining", "requests left now"),
        ("RateLimit-Reset", "seconds until the allowance is full again"),
    )
}
_SLUG = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"}
_ID = {"type": "integer", "minimum": 1}


def _models(endpoints: Endpoints) -> list[tuple[type[BaseModel], str]]:
    seen: dict[tuple[type[BaseModel], str], None] = {(Problem, "serialization"): None}
    for e in endpoints.all:
        for model in (e.body, e.query):
            if model is not None:
                seen[(model, "validation")] = None
        for model in e.answers.values():
            seen[(model, "serialization")] = None
    return list(seen)


def document(endpoints: Endpoints, public_url: str) -> dict[str, Any]:
    models = _models(endpoints)
    refs, defs = models_json_schema(models, ref_template=_REF)
    schemas: dict[str, Any] = defs.get("$defs", {})
    paths: dict[str, Any] = {}
    for e in endpoints.all:
        operation = _operation(e, refs, schemas)
        paths.setdefault("/api/v1" + e.path, {})[e.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "enrolbot API",
            "version": _version(),
            "description": _description(),
        },
        "servers": [{"url": public_url.rstrip("/")}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an API key (eb_live_...) from `enrolbot apikey create`",
                }
            },
        },
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("enrolbot")
    except PackageNotFoundError:
        return "0"


def _description() -> str:
    scopes = "\n".join(f"- `{name}`: {text}" for name, text in SCOPES.items())
    problems = "\n".join(
        f"- `{slug}` ({status}): {title}" for slug, (status, title) in KINDS.items()
    )
    return (
        "Learning platforms and scripts push the catalog, people and completions, and read "
        "enrolments. Every POST takes an Idempotency-Key header: a retry with the same key "
        "and body returns the first answer and changes nothing.\n\nScopes:\n"
        f"{scopes}\n\nProblem types (`tag:enrolbot,2026:problems/<slug>`):\n{problems}"
    )


def _operation(e: Endpoint, refs: dict, schemas: dict[str, Any]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": _ID if kind == "int" else _SLUG,
        }
        for name, kind in e.params.items()
    ]
    if e.query is not None:
        model = schemas[e.query.__name__]
        for name, schema in model.get("properties", {}).items():
            parameters.append({"name": name, "in": "query", "required": False, "schema": schema})
    if e.method == "POST":
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "1 to 255 characters; the same key retries the same request",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
    responses: dict[str, Any] = {
        str(status): {
            "description": "OK" if status == 200 else "Created",
            "headers": _RATE_HEADERS,
            "content": {"application/json": {"schema": refs[(model, "serialization")]}},
        }
        for status, model in e.answers.items()
    }
    for status in (400, 401, 403, 404, 429) + ((409, 422) if e.writes else ()):
        responses[str(status)] = _PROBLEM
    responses["429"] = {**_PROBLEM, "headers": {"Retry-After": {"schema": {"type": "integer"}}}}
    operation: dict[str, Any] = {
        "operationId": e.operation_id,
        "summary": e.summary,
        "description": (e.description + f"\n\nScope: `{e.scope}`.").strip(),
        "security": [{"apiKey": [e.scope]}],
        "parameters": parameters,
        "responses": responses,
    }
    if e.body is not None:
        operation["requestBody"] = {
            "required": e.method == "POST" and e.body.__name__ != "WithdrawIn",
            "content": {"application/json": {"schema": refs[(e.body, "validation")]}},
        }
    return operation
