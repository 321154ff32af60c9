"""SCIM's HTTP shapes: bearer tokens, application/scim+json in and out, and error bodies
(RFC 7644 §3.12: urn:ietf:params:scim:api:messages:2.0:Error, the status as a string)."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from scim2_models import Error, SCIMException
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from handlers.directory import OwnedElsewhere
from handlers.scim import ScimError

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/scim+json"
_ACCEPTED = ("application/scim+json", "application/json")

Endpoint = Callable[[Request], Awaitable[Response]]


class ScimJSON(JSONResponse):
    media_type = MEDIA_TYPE


def answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return ScimJSON(body, status_code=status, headers=headers)


def error(status: int, detail: str, scim_type: str | None = None) -> Response:
    body = Error(status=status, scim_type=scim_type, detail=detail).model_dump(
        scim_ctx=None, exclude_none=True, by_alias=True, mode="json"
    )
    return answer(body, status)


def authorised(header: str, tokens: list[str]) -> bool:
    """Whether the Authorization header carries one of the tokens. Every token is compared, in
    constant time, whatever matched: timing tells nothing of which or how much."""
    scheme, _, given = header.partition(" ")
    presented = given.strip().encode()
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(presented, token.encode())
    return scheme.lower() == "bearer" and bool(presented) and matched


def guarded(tokens: list[str], endpoint: Endpoint) -> Endpoint:
    """`endpoint` behind the bearer token, its failures answered as SCIM errors."""

    async def run(request: Request) -> Response:
        if not authorised(request.headers.get("authorization", ""), tokens):
            response = error(
                401, "Send the secret token set in ENROLBOT_SCIM_TOKEN as a bearer token."
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="scim"'
            return response
        try:
            return await endpoint(request)
        except ScimError as exc:
            return error(exc.status, exc.detail, exc.scim_type)
        except SCIMException as exc:
            return error(exc.status, exc.detail, exc.scim_type or None)
        except ValidationError as exc:
            first = Error.from_validation_errors(exc)[0]
            return error(first.status or 400, first.detail or str(exc), first.scim_type)
        except OwnedElsewhere as exc:
            return error(409, str(exc), "mutability")
        except IntegrityError:  # another request provisioned the same one meanwhile
            return error(409, "That resource was provisioned meanwhile; look it up.", "uniqueness")

    return run


async def body(request: Request) -> dict[str, Any]:
    """The request's JSON object; ScimError otherwise."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and kind not in _ACCEPTED:
        raise _Unsupported(f"Send {MEDIA_TYPE} (or application/json), not {kind}.")
    try:
        data = json.loads(await request.body())
    except ValueError:
        raise ScimSyntax("The body is not JSON.") from None
    if not isinstance(data, dict):
        raise ScimSyntax("The body must be a JSON object.")
    return data


class ScimSyntax(ScimError):
    scim_type = "invalidSyntax"


class _Unsupported(ScimError):
    status = 415
