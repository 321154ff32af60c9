"""The OpenAPI document at /api/v1/openapi.json: valid OpenAPI 3.1, and naming every route
the app serves under /api/v1 with each of its methods."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from openapi_spec_validator import validate
from starlette.routing import Mount

from bot.app import create_app
from bot.settings import Settings
from tests.support.api_world import SECRET


@pytest.fixture(scope="module")
def app(databases):
    return create_app(
        Settings(_env_file=None, DATABASE_URL=databases.fresh("sqlite"), ENROLBOT_SECRET_KEY=SECRET)
    )


@pytest.fixture(scope="module")
def document(app):
    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/api/v1/openapi.json")

    response = asyncio.run(fetch())
    assert response.status_code == 200
    return response.json()


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_api_route_and_method_is_in_the_document(app, document):
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/api/v1")
    served = set()
    for route in mount.routes:
        if getattr(route, "path", "/openapi.json") == "/openapi.json":
            continue  # the document itself, and the 404 for everything else
        handler = route.endpoint
        # each path's route answers its declared methods (others get a 405 problem)
        for method in handler.methods:
            served.add((method.lower(), "/api/v1" + route.path))
    documented = {(method, path) for path, ops in document["paths"].items() for method in ops}
    assert served == documented
    assert len(served) >= 13


def test_every_operation_names_its_scope_and_problems(document):
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            assert op["security"][0]["apiKey"], (method, path)
            assert re.fullmatch(r"[a-z]+:(read|write)", op["security"][0]["apiKey"][0])
            for status in ("401", "403", "429"):
                content = op["responses"][status]["content"]
                assert "application/problem+json" in content
            if method == "post":
                assert any(p["name"] == "Idempotency-Key" for p in op["parameters"])
