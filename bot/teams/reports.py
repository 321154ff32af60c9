"""A report in Teams: the summary, the CSV as a short-lived signed download link
(GET /reports/{token}), and in the personal chat the CSV as a file too, through Teams' file
consent card: the admin accepts, Teams names an upload URL in their OneDrive, the bot puts the
bytes there and shows the file (Teams lets bots send files only in personal chats).

In a channel everyone sees the answer, and the CSV holds people's names and emails, so the
channel gets the summary and the link goes to the admin's personal chat with the bot.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from bot.runtime import Runtime
from bot.teams import cards
from bot.teams.connector import TIMEOUT_SECONDS, Connector, ConnectorError
from bot.web.reports import download_url
from handlers import catalog, enrol_sheet, reports
from handlers.organisations import default_organisation
from handlers.replies import Notice, ReportReady, Tone
from handlers.signing import REPORT_LINK_SECONDS, ReportLinkSigner, TokenProblem

log = logging.getLogger(__name__)

FILE_CONSENT = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO = "application/vnd.microsoft.teams.card.file.info"
CONSENT_INVOKE = "fileConsent/invoke"


def link_card(runtime: Runtime, token: str, ready: ReportReady) -> dict:
    return cards.report_link(
        ready.summary,
        download_url(runtime.settings.public_url, token),
        reports.CSV_DOWNLOAD.format(minutes=REPORT_LINK_SECONDS // 60),
        reports.CSV_DOWNLOAD_BUTTON,
    )


def consent_card(ready: ReportReady, token: str) -> dict:
    """The attachment asking the admin to accept the CSV into their OneDrive; accepting sends
    back the signed token, from which the report is made again."""
    made = ready.report
    return {
        "contentType": FILE_CONSENT,
        "name": made.filename,
        "content": {
            "description": reports.CSV_FILE_OFFER.format(
                title=made.item.title + made.filters.describe()
            ),
            "sizeInBytes": len(made.csv),
            "acceptContext": {"report": token},
            "declineContext": {},
        },
    }


async def answer(
    runtime: Runtime, connector: Connector, activity: dict, ready: ReportReady, tenant: str
) -> dict:
    """The message that answers `report` where it was typed; in a channel, the link card is
    sent to the admin's personal chat first."""
    token = ReportLinkSigner(runtime.signer.keys).sign(reports.download_claims(ready))
    content = link_card(runtime, token, ready)
    if (activity["conversation"].get("conversationType") or "personal") == "personal":
        message = cards.message(content)
        message["attachments"].append(consent_card(ready, token))
        return message
    service_url = activity["serviceUrl"]
    try:
        chat = await connector.personal_conversation(service_url, tenant, activity["from"]["id"])
        await connector.send(service_url, chat, cards.message(content, reports.DOWNLOAD_TITLE))
    except ConnectorError as exc:
        log.warning("could not send a report link to a personal chat (%s)", exc.status)
        summary = reports.with_line(ready.summary, reports.CSV_LINK_UNDELIVERED, Tone.ERROR)
        return cards.message(cards.notice(summary))
    return cards.message(cards.notice(reports.with_line(ready.summary, reports.CSV_LINK_IN_CHAT)))


async def file_consent(runtime: Runtime, connector: Connector, activity: dict) -> None:
    """The admin answered a file consent card: on accept, the file (a report, from the signed
    token it carries; an enrolment template, from its items) is made again and its bytes put
    at the upload URL Teams gave, then shown as a file card. A decline needs nothing."""
    value = activity.get("value") or {}
    if not isinstance(value, dict) or value.get("action") != "accept":
        return
    context, upload = value.get("context"), value.get("uploadInfo")
    context = context if isinstance(context, dict) else {}
    if "template" in context:
        made = await _template_again(runtime, context.get("items"))
    else:
        made = await _report_again(runtime, context.get("report"))
    if made is None or not isinstance(upload, dict) or not upload.get("uploadUrl"):
        await _say(connector, activity, Notice(reports.CSV_FILE_GONE, Tone.ERROR))
        return
    content, filename = made
    size = len(content)
    try:
        put = await connector.http.put(
            str(upload["uploadUrl"]),
            content=content,
            headers={"Content-Range": f"bytes 0-{size - 1}/{size}"},
            timeout=TIMEOUT_SECONDS,
        )
        put.raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("could not put a file into OneDrive (%s)", type(exc).__name__)
        await _say(connector, activity, Notice(reports.CSV_FILE_FAILED, Tone.ERROR))
        return
    await connector.reply(activity, _file_card(upload, filename))


async def _report_again(runtime: Runtime, token: object) -> tuple[bytes, str] | None:
    claims = ReportLinkSigner(runtime.signer.keys).read(token if isinstance(token, str) else "")
    if isinstance(claims, TokenProblem):
        return None
    async with runtime.transaction() as session:
        org = await default_organisation(session)
        made = await reports.report_for_link(session, org.id, claims, runtime.settings.admin_emails)
    return (made.csv, made.filename) if made is not None else None


async def _template_again(runtime: Runtime, slugs: object) -> tuple[bytes, str] | None:
    """An enrolment template for the items it named (catalog titles only: nothing private)."""
    if not isinstance(slugs, list) or not slugs or not all(isinstance(s, str) for s in slugs):
        return None
    async with runtime.transaction() as session:
        org = await default_organisation(session)
        try:
            items = [await catalog.get_item(session, org.id, s) for s in slugs[:50]]
        except catalog.UnknownItem:
            return None
    return await asyncio.to_thread(enrol_sheet.template, items), enrol_sheet.template_name(items)


def _file_card(upload: dict, filename: str) -> dict:
    """The message showing the uploaded file, which opens or downloads it from OneDrive."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": FILE_INFO,
                "contentUrl": upload.get("contentUrl"),
                "name": upload.get("name") or filename,
                "content": {
                    "uniqueId": upload.get("uniqueId"),
                    "fileType": upload.get("fileType") or filename.rsplit(".", 1)[-1],
                },
            }
        ],
    }


async def _say(connector: Connector, activity: dict, notice: Notice) -> None:
    await connector.reply(activity, cards.message(cards.notice(notice)))
