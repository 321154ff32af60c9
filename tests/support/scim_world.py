"""A SCIM-enabled enrolbot for tests: the real ASGI app, and Entra ID's requests as Microsoft
documents them ("Tutorial: Develop and plan provisioning for a SCIM endpoint", the request
and response examples)."""

from __future__ import annotations

from typing import Any

import httpx

from bot.app import create_app
from bot.settings import Settings

TOKEN = "scim-secret-token-one"
OLD_TOKEN = "scim-secret-token-old"
SCIM = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ENROLBOT = "urn:ietf:params:scim:schemas:extension:enrolbot:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def scim_app(db_url: str, tokens: str = f"{TOKEN},{OLD_TOKEN}"):
    return create_app(
        Settings(
            _env_file=None,
            ENROLBOT_SECRET_KEY="k" * 32,
            DATABASE_URL=db_url,
            ENROLBOT_SCIM_TOKEN=tokens,
            ENROLBOT_PUBLIC_URL="https://enrolbot.example",
        )
    )


def client(app, token: str | None = TOKEN) -> httpx.AsyncClient:
    headers = {"Content-Type": SCIM}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://t/scim/v2", headers=headers
    )


def entra_user(n: int, **extra: Any) -> dict[str, Any]:
    """POST /Users as Entra ID sends it (its documented request, numbered)."""
    body = {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": f"0a21f0f2-8d2a-4f8e-bf98-{n:012d}",
        "userName": f"Test_User_{n}@contoso.com",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": f"Test_User_{n}@contoso.com"}],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": f"Given{n} Family{n}",
            "familyName": f"Family{n}",
            "givenName": f"Given{n}",
        },
        "roles": [],
    }
    body.update(extra)
    return body


def entra_group(name: str, external_id: str, members: list[str] | None = None) -> dict[str, Any]:
    return {
        "schemas": [GROUP_SCHEMA],
        "externalId": external_id,
        "displayName": name,
        "members": [{"value": m} for m in members or []],
        "meta": {"resourceType": "Group"},
    }


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}
