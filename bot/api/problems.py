"""Problems rendered as RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from handlers.api.problems import ApiProblem
from handlers.api.schemas import Problem

MEDIA_TYPE = "application/problem+json"
# Tag URIs name each problem type without promising a page (RFC 9457 section 3.1.1).
TYPE_BASE = "tag:enrolbot,2026:problems/"


def problem_response(
    request: Request, problem: ApiProblem, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = Problem(
        type=TYPE_BASE + problem.kind,
        title=problem.title,
        status=problem.status,
        detail=problem.detail,
        instance=request.url.path,
        **problem.extra,
    )
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=problem.status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )
