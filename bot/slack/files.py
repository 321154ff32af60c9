"""A report's CSV (or an enrolment template), uploaded to Slack with the current upload API
(files.upload is retired):
files.getUploadURLExternal names an upload URL, the bytes are posted there, and
files.completeUploadExternal shares the file; slack_sdk's files_upload_v2 makes the three calls.

The file always goes to the admin's direct message with the bot: it names people and their
emails, which a channel's other members must not see, and a DM needs no channel membership.
"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.client import error_code
from handlers import reports
from handlers.enrol_import_text import TEMPLATE_NEEDS_SCOPE, TEMPLATE_UPLOAD_FAILED, TemplateReady
from handlers.replies import Notice, ReportReady, Tone

log = logging.getLogger(__name__)


async def share_report(client: AsyncWebClient, ready: ReportReady, user_id: str) -> Notice:
    """Upload the report's CSV to the admin's DM; the summary, saying where the file went (or
    why it did not)."""
    made = ready.report
    try:
        where = await _direct_message(client, user_id)
        await client.files_upload_v2(
            content=made.csv,
            filename=made.filename,
            title=f"Enrolments in {made.item.title}{made.filters.describe()}",
            channel=where,
        )
    except (SlackApiError, SlackRequestError, aiohttp.ClientError, TimeoutError) as exc:
        code = error_code(exc) if isinstance(exc, SlackApiError) else type(exc).__name__
        log.warning("report upload failed (%s)", code)
        problem = reports.CSV_NEEDS_SCOPE if code == "missing_scope" else reports.CSV_UPLOAD_FAILED
        return reports.with_line(ready.summary, problem, Tone.ERROR)
    return reports.with_line(ready.summary, reports.CSV_IN_DM)


async def share_template(client: AsyncWebClient, ready: TemplateReady, user_id: str) -> Notice:
    """Upload an enrolment template to the admin's DM; the summary, or why it did not go."""
    try:
        where = await _direct_message(client, user_id)
        await client.files_upload_v2(
            content=ready.content, filename=ready.filename, title=ready.filename, channel=where
        )
    except (SlackApiError, SlackRequestError, aiohttp.ClientError, TimeoutError) as exc:
        code = error_code(exc) if isinstance(exc, SlackApiError) else type(exc).__name__
        log.warning("template upload failed (%s)", code)
        problem = TEMPLATE_NEEDS_SCOPE if code == "missing_scope" else TEMPLATE_UPLOAD_FAILED
        return Notice(problem, Tone.ERROR)
    return ready.summary


async def _direct_message(client: AsyncWebClient, user_id: str) -> str:
    """The id of the admin's direct message with the bot (files are shared to a channel id)."""
    opened = await client.conversations_open(users=user_id)
    return str(opened["channel"]["id"])
