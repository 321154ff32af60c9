"""Spreadsheet enrolment in Teams (bots send and receive files only in the personal chat):
`enrol template` as a file consent card (bot.teams.reports puts the accepted file in OneDrive),
a filled file sent to the bot (an attachment of type file.download.info, whose downloadUrl is
pre-authenticated) previewed on a card with a Start import button (Action.Execute), and Start,
answered at once and reported in the chat when the import is done. A file sent with the words
`invite import`, or whose first row is email, group, is a sheet of invitations instead
(bot.invite_imports): its card's Send invitations button sends them."""

from __future__ import annotations

import asyncio
import logging

import httpx

from bot import enrol_imports, invite_imports
from bot.runtime import Runtime
from bot.teams import cards
from bot.teams.connector import TIMEOUT_SECONDS, Connector
from bot.teams.reports import FILE_CONSENT
from handlers.enrol_import_text import (
    FILE_UNREADABLE,
    START,
    STARTED,
    ImportPreview,
    TemplateReady,
)
from handlers.invite_import_text import SEND, InvitePreview
from handlers.replies import Notice, Tone

log = logging.getLogger(__name__)

FILE_DOWNLOAD = "application/vnd.microsoft.teams.file.download.info"
START_VERB = "enrolImportStart"
SEND_VERB = "inviteImportSend"
PERSONAL_ONLY = Notice(
    "Teams lets me send and receive files only in our personal chat: ask me there.", Tone.ERROR
)


def sent_file(activity: dict) -> dict | None:
    """The file attached to a message sent in the personal chat, as Teams describes it."""
    for attachment in activity.get("attachments") or []:
        if isinstance(attachment, dict) and attachment.get("contentType") == FILE_DOWNLOAD:
            content = attachment.get("content") or {}
            if isinstance(content, dict) and content.get("downloadUrl"):
                return {"name": str(attachment.get("name") or "upload"), **content}
    return None


def template_message(ready: TemplateReady, personal: bool) -> dict:
    """The summary and, in the personal chat, the template offered as a file."""
    if not personal:
        return cards.message(cards.notice(PERSONAL_ONLY))
    message = cards.message(cards.notice(ready.summary))
    message["attachments"].append(
        {
            "contentType": FILE_CONSENT,
            "name": ready.filename,
            "content": {
                "description": ready.filename,
                "sizeInBytes": len(ready.content),
                "acceptContext": {"template": ready.filename, "items": list(ready.slugs)},
                "declineContext": {},
            },
        }
    )
    return message


def _button(title: str, verb: str, data: dict) -> dict:
    return {
        "type": "Action.Execute",
        "title": title,
        "verb": verb,
        "data": data,
        "style": "positive",
    }


def preview_card(reply: ImportPreview) -> dict:
    content = cards.notice(reply.summary)
    if reply.start is not None:
        content["actions"] = [_button(START, START_VERB, {"import": reply.start})]
    return content


def invite_preview_card(reply: InvitePreview) -> dict:
    """The invitations' preview; Send invitations only when no row needs fixing."""
    content = cards.notice(reply.summary)
    if reply.send is not None:
        content["actions"] = [_button(SEND, SEND_VERB, {"invite": reply.send})]
    return content


async def preview_sent_file(
    runtime: Runtime,
    connector: Connector,
    activity: dict,
    importer: enrol_imports.Importer | None,
    inviter: invite_imports.Inviter | Notice,
) -> dict:
    """The card answering a file sent to the bot: its preview as invitations or enrolments
    (bot.invite_imports.is_for_invitations says which), or why there is none."""
    file = sent_file(activity)
    assert file is not None
    words = str(activity.get("text") or "")
    if importer is None and isinstance(inviter, Notice):  # may import neither: no download
        said_invite = invite_imports.SAYS_INVITE.search(words)
        return cards.notice(inviter if said_invite else enrol_imports.NOT_ALLOWED)
    try:
        got = await connector.http.get(str(file["downloadUrl"]), timeout=TIMEOUT_SECONDS)
        got.raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("could not download an import file (%s)", type(exc).__name__)
        return cards.notice(Notice(FILE_UNREADABLE, Tone.ERROR))
    if await invite_imports.is_for_invitations(words, got.content, file["name"]):
        if isinstance(inviter, Notice):
            return cards.notice(inviter)
        sheet = await invite_imports.preview_bytes(runtime, inviter, got.content, file["name"])
        return (
            invite_preview_card(sheet) if isinstance(sheet, InvitePreview) else cards.notice(sheet)
        )
    if importer is None:
        return cards.notice(enrol_imports.NOT_ALLOWED)
    reply = await enrol_imports.preview_bytes(runtime, importer, got.content, file["name"])
    return preview_card(reply) if isinstance(reply, ImportPreview) else cards.notice(reply)


class Starts:
    """Start import presses: answered at once, the import run after, its outcome sent to the
    chat. Running imports are kept so none is collected before it ends."""

    def __init__(self, runtime: Runtime, connector: Connector) -> None:
        self.runtime = runtime
        self.connector = connector
        self.running: set[asyncio.Task] = set()

    def start(self, activity: dict, importer: enrol_imports.Importer, token: str) -> dict:
        task = asyncio.create_task(self._run(activity, importer, token))
        self.running.add(task)
        task.add_done_callback(self.running.discard)
        return cards.invoke_card(cards.notice(Notice(STARTED)))

    async def _run(self, activity: dict, importer: enrol_imports.Importer, token: str) -> None:
        try:
            reply = await enrol_imports.start(self.runtime, importer, token)
            await self.connector.reply(activity, cards.message(cards.notice(reply)))
        except Exception:
            log.exception("import failed (from %s)", activity["from"]["id"])
