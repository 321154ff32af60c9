"""A report's CSV, uploaded to Slack with the current upload API (files.upload is retired):
files.getUploadURLExternal names an upload URL, the bytes are posted there, and
files.completeUploadExternal shares the file; slack_sdk's files_upload_v2 makes the three calls.

The file goes where the command was typed if the bot is in that conversation (sharing a file
needs membership: there is no files:write.public), and otherwise to the admin's direct message
with the bot, so a slash command in a channel the bot was never invited to still delivers it.
"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.client import error_code
from handlers import reports
from handlers.replies import Notice, ReportReady, Tone

log = logging.getLogger(__name__)


async def can_share_in(client: AsyncWebClient, channel_id: str | None) -> bool:
    """Whether the bot is in the conversation, so a file can be shared there."""
    if not channel_id:
        return False
    try:
        info = (await client.conversations_info(channel=channel_id))["channel"]
    except SlackApiError as exc:  # not found, not in it, or an install without the scopes
        log.info("not sharing in %s (%s)", channel_id, error_code(exc))
        return False
    if info.get("is_archived"):
        return False
    # Slack's im object has no is_member: a direct message the bot can see is one it is in.
    return bool(info.get("is_im") or info.get("is_member"))


async def share_report(
    client: AsyncWebClient, ready: ReportReady, channel_id: str | None, user_id: str
) -> Notice:
    """Upload the report's CSV; the summary, saying where the file went (or why it did not)."""
    made = ready.report
    here = await can_share_in(client, channel_id)
    try:
        where = channel_id if here else await _direct_message(client, user_id)
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
    return reports.with_line(ready.summary, reports.CSV_HERE if here else reports.CSV_IN_DM)


async def _direct_message(client: AsyncWebClient, user_id: str) -> str:
    """The id of the admin's direct message with the bot (files are shared to a channel id)."""
    opened = await client.conversations_open(users=user_id)
    return str(opened["channel"]["id"])
