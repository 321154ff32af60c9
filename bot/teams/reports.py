"""A report in Teams: the summary, and the CSV as a short-lived signed download link
(GET /reports/{token}) rather than a file, which in Teams needs the file consent card flow.

In the personal chat the answer carries the link. In a channel everyone sees the answer, and
the CSV holds people's names and emails, so the channel gets the summary and the link goes to
the admin's personal chat with the bot.
"""

from __future__ import annotations

import logging

from bot.runtime import Runtime
from bot.teams import cards
from bot.teams.connector import Connector, ConnectorError
from bot.web.reports import download_url
from handlers import reports
from handlers.replies import ReportReady, Tone
from handlers.signing import REPORT_LINK_SECONDS, ReportLinkSigner

log = logging.getLogger(__name__)


def link_card(runtime: Runtime, ready: ReportReady) -> dict:
    token = ReportLinkSigner(runtime.signer.keys).sign(reports.download_claims(ready))
    return cards.report_link(
        ready.summary,
        download_url(runtime.settings.public_url, token),
        reports.CSV_DOWNLOAD.format(minutes=REPORT_LINK_SECONDS // 60),
        reports.CSV_DOWNLOAD_BUTTON,
    )


async def answer(
    runtime: Runtime, connector: Connector, activity: dict, ready: ReportReady, tenant: str
) -> dict:
    """The card that answers `report` where it was typed; in a channel, the link card is sent
    to the admin's personal chat first."""
    content = link_card(runtime, ready)
    if (activity["conversation"].get("conversationType") or "personal") == "personal":
        return content
    service_url = activity["serviceUrl"]
    try:
        chat = await connector.personal_conversation(service_url, tenant, activity["from"]["id"])
        await connector.send(service_url, chat, cards.message(content, reports.DOWNLOAD_TITLE))
    except ConnectorError as exc:
        log.warning("could not send a report link to a personal chat (%s)", exc.status)
        return cards.notice(
            reports.with_line(ready.summary, reports.CSV_LINK_UNDELIVERED, Tone.ERROR)
        )
    return cards.notice(reports.with_line(ready.summary, reports.CSV_LINK_IN_CHAT))
