"""Moodle's own errors as sentences an admin can act on, each told to the admins once (per
course where the fix is in one course) and forgotten when the call it broke works again.
Every sentence the connector says lives here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.admin_notices import tell_admins
from store.models import MoodleNotice
from store.upsert import insert_ignoring_conflict

FUNCTIONS = (
    "enrol_manual_enrol_users",
    "enrol_manual_unenrol_users",
    "core_user_get_users_by_field",
    "core_completion_get_course_completion_status",
    "core_webservice_get_site_info",
)
NO_USER = "nouser"  # not Moodle's code: the lookup by email found no account
# Problems of the token or its service, whatever the course: any call that works clears them.
SITE_WIDE = ("invalidtoken", "accessexception", "wsusercannotassign", "manualpluginnotinstalled")
# The token's user lacks enrol/manual:unenrol: cleared only when an unenrol works.
UNENROL_REFUSED = "nopermissions"
# Problems of one course's set-up, told once per course.
PER_COURSE = ("wsnoinstance", "cannotviewreport", "nocriteriaset")
# Not a problem: a completion asked for before the enrolment's push went through.
NOT_ENROLLED = "usernotenroled"


@dataclass(frozen=True)
class Problem:
    key: str  # what is told once: the error code, with the course where the fix is there
    text: str  # the sentence for the admins
    reason: str  # short, for the outbox row's last error and the status command


@dataclass(frozen=True)
class Context:
    """What the failing call was about."""

    function: str
    course_id: int | None = None
    email: str | None = None
    role_id: int | None = None


def problem(errorcode: str, message: str, at: Context) -> Problem:
    """The admins' sentence for a Moodle error code (or NO_USER)."""
    course = f"Moodle course {at.course_id}" if at.course_id else "a Moodle course"
    text = _about_the_site(errorcode, at) or _about_a_course(errorcode, course, at)
    if text is None:
        text = (
            f"Moodle refused {at.function} for {course} ({errorcode}: {message}). Check the "
            "course and MOODLE_TOKEN's permissions in Moodle; enrolbot tries again later."
        )
    key = f"{errorcode}:{at.course_id}" if errorcode in PER_COURSE else errorcode
    reason = f"{errorcode}: {message}" if message else errorcode
    return Problem(key[:100], text, reason[:300])


def _about_the_site(errorcode: str, at: Context) -> str | None:
    """What to change for an error that stops every course: the token, the service, the plugin."""
    if errorcode == "invalidtoken":
        text = (
            "Moodle refused MOODLE_TOKEN: the token is wrong or has expired (invalidtoken). "
            "Make a new token in Moodle under Site administration > Server > Web services > "
            "Manage tokens, set it as MOODLE_TOKEN and restart enrolbot; enrolments waiting "
            "for Moodle are sent once it works."
        )
    elif errorcode == "accessexception":
        text = (
            f"Moodle refused enrolbot's call to {at.function} (accessexception). Add "
            f"{', '.join(FUNCTIONS)} to the external service of MOODLE_TOKEN (Site "
            "administration > Server > Web services > External services > Functions) and "
            "make sure the token's user is allowed to use that service."
        )
    elif errorcode == "manualpluginnotinstalled":
        text = (
            "The Manual enrolments plugin is off in Moodle, so enrolbot cannot enrol or unenrol "
            "anyone (manualpluginnotinstalled). Enable it under Site administration > Plugins > "
            "Enrolments > Manage enrol plugins; the waiting pushes are sent on the next try."
        )
    else:
        return None
    return text


def _about_a_course(errorcode: str, course: str, at: Context) -> str | None:
    """What to change for an error about one course or person."""
    if errorcode == "wsnoinstance":
        text = (
            f"{course} has no manual enrolment method, so enrolbot cannot enrol or unenrol "
            "anyone there (wsnoinstance). In the course open Participants > Enrolment methods "
            'and add (or enable) "Manual enrolments"; the waiting pushes are sent on the next '
            "try."
        )
    elif errorcode == UNENROL_REFUSED and at.function == "enrol_manual_unenrol_users":
        text = (
            f"MOODLE_TOKEN's user may not unenrol people in {course}, so people withdrawn in "
            "enrolbot stay enrolled there (nopermissions). Give the web-service user the "
            "enrol/manual:unenrol capability (Site administration > Users > Permissions > "
            "Define roles); the waiting withdrawals are sent on the next try."
        )
    elif errorcode == "wsusercannotassign":
        role = f"role {at.role_id}" if at.role_id else "the student role"
        text = (
            f"MOODLE_TOKEN's user may not give {role} in {course} "
            "(wsusercannotassign). Give the web-service user the enrol/manual:enrol capability "
            "and the right to assign that role (Site administration > Users > Permissions > "
            "Define roles > Allow role assignments), or set MOODLE_STUDENT_ROLE_ID to a role it "
            "may assign."
        )
    elif errorcode == "cannotviewreport":
        text = (
            f"enrolbot cannot read completions in {course} (cannotviewreport). Turn completion "
            "tracking on (Site administration > General > Advanced features > Enable "
            "completion tracking, and the course's Settings > Completion tracking) and give "
            "MOODLE_TOKEN's user the report/completion:view capability."
        )
    elif errorcode == "nocriteriaset":
        text = (
            f"{course} has no completion conditions, so Moodle never marks anyone complete "
            "there (nocriteriaset): set them in the course's Course completion settings."
        )
    elif errorcode == NO_USER:
        text = (
            f"{at.email} has no Moodle account with that email, so enrolbot cannot enrol them "
            f"in {course}. Create the account in Moodle, or make the two emails the same; "
            "enrolbot tries again every few hours, and `enrolbot moodle status` lists everyone "
            "waiting."
        )
    else:
        return None
    return text


async def tell_once(
    session: AsyncSession,
    organisation_id: int,
    found: Problem,
    now: datetime,
    *,
    bootstrap_admins: frozenset[str] = frozenset(),
) -> bool:
    """Tell the admins of `found` unless they were told and it has not worked since; whether
    they were told now. The insert that wins is the one that tells, whatever the workers."""
    values = {"organisation_id": organisation_id, "key": found.key, "told_at": now}
    if await insert_ignoring_conflict(session, MoodleNotice, values) is None:
        return False
    await tell_admins(session, organisation_id, found.text, now, bootstrap_admins=bootstrap_admins)
    return True


async def worked(session: AsyncSession, organisation_id: int, keys: Iterable[str]) -> None:
    """Forget the problems a call that just worked shows fixed, so a new one is told again."""
    await session.execute(
        delete(MoodleNotice).where(
            MoodleNotice.organisation_id == organisation_id, MoodleNotice.key.in_(list(keys))
        )
    )


def unreachable(reason: str) -> str:
    """The status line for a site that did not answer."""
    return f"Moodle did not answer ({reason}): check MOODLE_URL and that the site is up."
