"""The outbox's channel to Moodle: each new enrolment in a mapped item (an outbox row written by
handlers.moodle.site.fan_out in the enrolment's transaction) is sent with
`enrol_manual_enrol_users` as the student role, from the time it starts.

Whatever goes wrong, the row stays pending and is tried again with growing pauses (the outbox's),
so nothing is lost: a site that is down or slow, a wrong token, a course without its manual
enrolment method, a token user who may not assign the role (each told to the admins once, in a
sentence saying how to fix it), and a person with no Moodle account (tried again every few
hours, until the account exists)."""

from __future__ import annotations

from bot.moodle.client import MoodleError, MoodleUnreachable
from bot.moodle.connector import Connector
from handlers.moodle.problems import NO_USER, SITE_WIDE, Context, problem
from handlers.outbox import Batch, Channel, Result, SendOutcome

FUNCTION = "enrol_manual_enrol_users"
NO_USER_RETRY_SECONDS = 6 * 3600.0


class MoodleChannel:
    def __init__(self, connector: Connector) -> None:
        self.connector = connector

    async def send(self, batch: Batch) -> SendOutcome:
        payload = batch.payloads[0]
        organisation_id = int(batch.to.tenant)
        course_id = int(payload["course_id"])
        at = Context(FUNCTION, course_id, payload["email"], self.connector.role_id)
        try:
            moodle_id = await self.connector.account(int(payload["user_id"]), payload["email"])
            if moodle_id is None:
                found = problem(NO_USER, f"no Moodle account for {payload['email']}", at)
                await self.connector.report(organisation_id, found)
                return SendOutcome(Result.RETRY, found.reason, NO_USER_RETRY_SECONDS)
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
        await self.connector.worked(organisation_id, (*SITE_WIDE, f"wsnoinstance:{course_id}"))
        return SendOutcome.sent()


def moodle_channel(connector: Connector) -> Channel:
    """One enrolment per send; a little over two calls' timeouts (a lookup, then the enrol)."""
    return Channel(
        MoodleChannel(connector).send, max_batch=1, timeout=connector.client.timeout * 2 + 1
    )
