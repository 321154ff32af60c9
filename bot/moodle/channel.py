"""The outbox's channel to Moodle. Each row (written in the change's transaction by
handlers.moodle.site.fan_out or handlers.moodle.queue) is one push about one person and course:
an enrol, sent with `enrol_manual_enrol_users` as the student role from the time the enrolment
starts, or an unenrol, sent with `enrol_manual_unenrol_users`.

Whatever goes wrong, the row stays pending and is tried again with growing pauses (the outbox's),
so nothing is lost: a site that is down or slow, a wrong token, a course without its manual
enrolment method, a token user who may not assign the role or unenrol (each told to the admins
once, in a sentence saying how to fix it), and a person with no Moodle account (an enrol is tried
again every few hours, until the account exists; an unenrol has nothing to take away)."""

from __future__ import annotations

from bot.moodle.client import MoodleError, MoodleUnreachable
from bot.moodle.connector import Connector
from handlers.moodle.problems import NO_USER, SITE_WIDE, UNENROL_REFUSED, Context, problem
from handlers.moodle.site import UNENROL
from handlers.outbox import Batch, Channel, Result, SendOutcome

FUNCTION = "enrol_manual_enrol_users"
UNENROL_FUNCTION = "enrol_manual_unenrol_users"
NO_USER_RETRY_SECONDS = 6 * 3600.0


class MoodleChannel:
    def __init__(self, connector: Connector) -> None:
        self.connector = connector

    async def send(self, batch: Batch) -> SendOutcome:
        payload = batch.payloads[0]
        organisation_id = int(batch.to.tenant)
        course_id = int(payload["course_id"])
        leaving = payload.get("action") == UNENROL
        function = UNENROL_FUNCTION if leaving else FUNCTION
        at = Context(function, course_id, payload["email"], self.connector.role_id)
        try:
            moodle_id = await self.connector.account(int(payload["user_id"]), payload["email"])
            if moodle_id is None and leaving:
                return SendOutcome.sent()  # no account: nobody to unenrol
            if moodle_id is None:
                found = problem(NO_USER, f"no Moodle account for {payload['email']}", at)
                await self.connector.report(organisation_id, found)
                return SendOutcome(Result.RETRY, found.reason, NO_USER_RETRY_SECONDS)
            if leaving:
                await self.connector.client.unenrol(user_id=moodle_id, course_id=course_id)
            else:
                await self.connector.client.enrol(
                    user_id=moodle_id,
                    course_id=course_id,
                    role_id=self.connector.role_id,
                    timestart=int(payload["timestart"]),
                )
        except MoodleUnreachable as exc:
            return SendOutcome(Result.RETRY, str(exc))
        except MoodleError as exc:
            found = problem(exc.errorcode, exc.message, at)
            await self.connector.report(organisation_id, found)
            return SendOutcome(Result.RETRY, found.reason)
        fixed = (*SITE_WIDE, f"wsnoinstance:{course_id}", *((UNENROL_REFUSED,) if leaving else ()))
        await self.connector.worked(organisation_id, fixed)
        return SendOutcome.sent()


def moodle_channel(connector: Connector) -> Channel:
    """One push per send; a little over two calls' timeouts (a lookup, then the call)."""
    return Channel(
        MoodleChannel(connector).send, max_batch=1, timeout=connector.client.timeout * 2 + 1
    )
