"""Moodle's REST web-service protocol: one POST to `{MOODLE_URL}/webservice/rest/server.php`
with `wstoken`, `wsfunction` and `moodlewsrestformat=json`, the function's arguments
form-encoded in Moodle's array syntax (`enrolments[0][userid]=7`). Moodle answers its own errors
with HTTP 200 and `{"exception", "errorcode", "message"}`; those become `MoodleError`, and a site
that cannot be reached, or answers anything else, `MoodleUnreachable`. Every call has a timeout;
the token is never logged (it travels in the body, not the URL)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

ENDPOINT = "/webservice/rest/server.php"


class MoodleUnreachable(Exception):
    """No usable answer: a refused connection, a timeout, a 5xx, a page that is not JSON."""


class MoodleError(Exception):
    """Moodle's own error: its `errorcode` (e.g. `wsnoinstance`) and message."""

    def __init__(self, errorcode: str, message: str, exception: str = "") -> None:
        super().__init__(f"{errorcode}: {message}")
        self.errorcode = errorcode
        self.message = message
        self.exception = exception


def flatten(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Arguments as Moodle's form encoding writes them: lists and dicts as `name[0][key]`,
    booleans as 1/0."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            pairs += flatten(value, name)
        elif isinstance(value, list | tuple):
            pairs += flatten(dict(enumerate(value)), name)
        elif isinstance(value, bool):
            pairs.append((name, "1" if value else "0"))
        else:
            pairs.append((name, str(value)))
    return pairs


@dataclass
class MoodleClient:
    http: httpx.AsyncClient
    url: str  # MOODLE_URL, without a trailing slash
    token: str
    timeout: float = 10.0

    async def call(self, function: str, **params: Any) -> Any:
        """Call one web-service function; its decoded answer (None for functions that return
        nothing, as enrol_manual_enrol_users does)."""
        form = [
            ("wstoken", self.token),
            ("wsfunction", function),
            ("moodlewsrestformat", "json"),
            *flatten(params),
        ]
        try:
            response = await self.http.post(
                self.url + ENDPOINT, data=dict(form), timeout=self.timeout, follow_redirects=False
            )
        except httpx.TimeoutException as exc:
            raise MoodleUnreachable(f"no answer from Moodle within {self.timeout:g}s") from exc
        except httpx.HTTPError as exc:
            raise MoodleUnreachable(f"could not reach Moodle ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise MoodleUnreachable(f"Moodle answered HTTP {response.status_code}")
        try:
            answer = response.json() if response.content.strip() else None
        except ValueError as exc:
            raise MoodleUnreachable("Moodle's answer was not JSON: is MOODLE_URL right?") from exc
        if isinstance(answer, dict) and "exception" in answer and "errorcode" in answer:
            raise MoodleError(
                str(answer.get("errorcode")),
                str(answer.get("message", ""))[:300],
                str(answer.get("exception", "")),
            )
        return answer

    async def user_by_email(self, email: str) -> int | None:
        """The Moodle user id of the account with this email; None when there is none."""
        users = await self.call("core_user_get_users_by_field", field="email", values=[email])
        if isinstance(users, list) and users and isinstance(users[0], dict) and "id" in users[0]:
            return int(users[0]["id"])
        return None

    async def enrol(self, *, user_id: int, course_id: int, role_id: int, timestart: int) -> None:
        await self.call(
            "enrol_manual_enrol_users",
            enrolments=[
                {
                    "roleid": role_id,
                    "userid": user_id,
                    "courseid": course_id,
                    "timestart": timestart,
                }
            ],
        )

    async def unenrol(self, *, user_id: int, course_id: int) -> None:
        """Take the user's manual enrolment in the course away (nothing, for someone not
        enrolled there: Moodle answers null either way)."""
        await self.call(
            "enrol_manual_unenrol_users",
            enrolments=[{"userid": user_id, "courseid": course_id}],
        )

    async def completion(self, *, user_id: int, course_id: int) -> tuple[bool, int | None]:
        """Whether the user completed the course, and when (the latest criterion's time)."""
        answer = await self.call(
            "core_completion_get_course_completion_status", courseid=course_id, userid=user_id
        )
        status = (answer or {}).get("completionstatus") or {}
        times = [
            int(c["timecompleted"])
            for c in status.get("completions") or []
            if isinstance(c, dict) and c.get("timecompleted")
        ]
        return bool(status.get("completed")), max(times) if times else None

    async def site_info(self) -> dict[str, Any]:
        answer = await self.call("core_webservice_get_site_info")
        return answer if isinstance(answer, dict) else {}
