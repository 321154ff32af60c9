"""A stand-in of a Moodle site's REST web-service endpoint, `/webservice/rest/server.php`, as
Moodle's web-service documentation describes it: `wstoken`, `wsfunction` and
`moodlewsrestformat=json` in the query or the form-encoded body, arguments in Moodle's array
syntax (`enrolments[0][userid]=3`), answers in JSON, and Moodle's own errors as HTTP 200 with
`{"exception", "errorcode", "message"}`.

Five functions, as the site's API documentation gives them: enrol_manual_enrol_users (null on
success; manualpluginnotinstalled when the Manual enrolments plugin is off, wsnoinstance without
the course's manual enrolment instance, wsusercannotassign when the token's user lacks the
capability), enrol_manual_unenrol_users (null on success, and for someone not enrolled, whom
Moodle's unenrol_user passes over; manualpluginnotinstalled, nopermissions without
enrol/manual:unenrol, wsnoinstance, invalidparameter for a user id that does not exist; all or
nothing, as its delegated transaction is), core_user_get_users_by_field (a list of users, empty when
none), core_completion_get_course_completion_status (completionstatus and warnings) and
core_webservice_get_site_info. A test sets up users, courses and completions, can take the site
down, and reads the calls and enrolments it got."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

FUNCTIONS = (
    "enrol_manual_enrol_users",
    "enrol_manual_unenrol_users",
    "core_user_get_users_by_field",
    "core_completion_get_course_completion_status",
    "core_webservice_get_site_info",
)


@dataclass
class Course:
    id: int
    manual: bool = True  # has an enabled manual enrolment instance
    completion: bool = True  # completion tracking on, with completion conditions


@dataclass
class MoodleSite:
    token: str = "moodle-token"
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    courses: dict[int, Course] = field(default_factory=dict)
    # (course, user) -> {"roleid", "timestart"}: the manual enrolments held
    enrolments: dict[tuple[int, int], dict[str, int]] = field(default_factory=dict)
    completed: dict[tuple[int, int], int] = field(default_factory=dict)  # -> timecompleted
    can_assign: bool = True  # the token's user may assign roles
    can_unenrol: bool = True  # the token's user has enrol/manual:unenrol
    manual_plugin: bool = True  # the Manual enrolments plugin is enabled site-wide
    enabled: tuple[str, ...] = FUNCTIONS  # the functions of the token's service
    down: bool = False  # answers 503, as a site under maintenance or a proxy in front
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def reset(self) -> None:
        """As new, for the next test on a site served once per module."""
        fresh = MoodleSite()
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))

    def add_user(self, moodle_id: int, email: str) -> None:
        name = email.split("@")[0]
        self.users[moodle_id] = {
            "id": moodle_id,
            "username": name,
            "firstname": name,
            "lastname": "Learner",
            "fullname": f"{name} Learner",
            "email": email,
            "auth": "manual",
            "suspended": False,
        }

    def called(self, function: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == function]


def nested(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Moodle's array syntax read back: `a[0][b]=1` -> {"a": {"0": {"b": "1"}}}."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        here = out
        for part in parts[:-1]:
            here = here.setdefault(part, {})
        here[parts[-1]] = value
    return out


def _error(exception: str, errorcode: str, message: str) -> JSONResponse:
    return JSONResponse({"exception": exception, "errorcode": errorcode, "message": message})


def standin_app(site: MoodleSite) -> Starlette:
    async def server(request: Request) -> Response:
        if site.down:
            return Response("Service Unavailable", status_code=503)
        pairs = list(request.query_params.multi_items())
        if request.method == "POST":
            # Form-encoded, read as Moodle's PHP reads $_POST (no multipart library needed).
            pairs += parse_qsl((await request.body()).decode(), keep_blank_values=True)
        params = nested([(k, str(v)) for k, v in pairs])
        function = params.pop("wsfunction", "")
        token = params.pop("wstoken", "")
        params.pop("moodlewsrestformat", None)
        site.calls.append((function, params))
        if token != site.token:
            return _error("moodle_exception", "invalidtoken", "Invalid token - token not found")
        if function not in site.enabled:
            return _error(
                "webservice_access_exception", "accessexception", "Access control exception"
            )
        return _FUNCTIONS[function](site, params)

    return Starlette(routes=[Route("/webservice/rest/server.php", server, methods=["GET", "POST"])])


def _no_plugin() -> JSONResponse:
    return _error(
        "moodle_exception", "manualpluginnotinstalled", "The Manual enrolments plugin is disabled"
    )


def _no_instance(course_id: int) -> JSONResponse:
    return _error(
        "moodle_exception",
        "wsnoinstance",
        "Manual enrolment plugin instance doesn't exist or is disabled for the course "
        f"(id = {course_id})",
    )


def _enrol(site: MoodleSite, params: dict[str, Any]) -> Response:
    if not site.manual_plugin:
        return _no_plugin()
    for enrolment in params.get("enrolments", {}).values():
        course_id, user_id = int(enrolment["courseid"]), int(enrolment["userid"])
        role = int(enrolment["roleid"])
        course = site.courses.get(course_id)
        if course is None or not course.manual:
            return _no_instance(course_id)
        if not site.can_assign:
            return _error(
                "moodle_exception",
                "wsusercannotassign",
                f"You don't have the permission to assign this role ({role}) to this user "
                f"({user_id}) in this course({course_id}).",
            )
        if user_id not in site.users:
            return _error("invalid_parameter_exception", "invalidparameter", "Invalid parameter")
        site.enrolments[(course_id, user_id)] = {
            "roleid": role,
            "timestart": int(enrolment.get("timestart", 0)),
        }
    return Response("null", media_type="application/json")


def _unenrol(site: MoodleSite, params: dict[str, Any]) -> Response:
    """Every enrolment checked before any is taken away: Moodle's call is one transaction."""
    if not site.manual_plugin:
        return _no_plugin()
    leaving = []
    for enrolment in params.get("enrolments", {}).values():
        course_id, user_id = int(enrolment["courseid"]), int(enrolment["userid"])
        course = site.courses.get(course_id)
        if not site.can_unenrol:
            return _error(
                "required_capability_exception",
                "nopermissions",
                "Sorry, but you do not currently have permissions to do that (Unenrol users "
                "from the course).",
            )
        if course is None or not course.manual:
            return _no_instance(course_id)
        if user_id not in site.users:
            return _error(
                "invalid_parameter_exception",
                "invalidparameter",
                "Invalid parameter value detected",
            )
        leaving.append((course_id, user_id))
    for key in leaving:
        site.enrolments.pop(key, None)  # not enrolled: passed over, no error
    return Response("null", media_type="application/json")


def _users(site: MoodleSite, params: dict[str, Any]) -> Response:
    field_name = params.get("field")
    values = {str(v).lower() for v in params.get("values", {}).values()}
    if field_name != "email":
        return JSONResponse([u for u in site.users.values() if str(u.get(field_name)) in values])
    return JSONResponse([u for u in site.users.values() if u["email"].lower() in values])


def _completion(site: MoodleSite, params: dict[str, Any]) -> Response:
    course_id, user_id = int(params["courseid"]), int(params["userid"])
    course = site.courses.get(course_id)
    if course is None or not course.completion:
        return _error("moodle_exception", "cannotviewreport", "Cannot view report")
    if (course_id, user_id) not in site.enrolments:
        return _error("moodle_exception", "usernotenroled", "User is not enrolled in this course")
    when = site.completed.get((course_id, user_id))
    return JSONResponse(
        {
            "completionstatus": {
                "completed": when is not None,
                "aggregation": 1,
                "completions": [
                    {
                        "type": 4,
                        "title": "Activity completion",
                        "status": "Yes" if when else "No",
                        "complete": when is not None,
                        "timecompleted": when,
                        "details": {
                            "type": "Activity completion",
                            "criteria": "Quiz",
                            "requirement": "Marking yourself complete",
                            "status": "",
                        },
                    }
                ],
            },
            "warnings": [],
        }
    )


def _site_info(site: MoodleSite, params: dict[str, Any]) -> Response:
    return JSONResponse(
        {
            "sitename": "Stand-in Moodle",
            "username": "wsuser",
            "firstname": "Web",
            "lastname": "Service",
            "fullname": "Web Service",
            "lang": "en",
            "userid": 2,
            "siteurl": "http://127.0.0.1",
            "userpictureurl": "",
            "functions": [{"name": f, "version": "2024100700"} for f in site.enabled],
            "release": "4.5 (Build: 20241007)",
            "version": "2024100700",
        }
    )


_FUNCTIONS = {
    "enrol_manual_enrol_users": _enrol,
    "enrol_manual_unenrol_users": _unenrol,
    "core_user_get_users_by_field": _users,
    "core_completion_get_course_completion_status": _completion,
    "core_webservice_get_site_info": _site_info,
}
