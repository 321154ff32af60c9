"""Spreadsheet imports on Slack: the modal's file (`enrol import` or `invite import`, as its
private_metadata says), fetched with files.info and its url_private_download (the bot token as
a bearer token; files:read), previewed in the admin's DM with a Start import or Send
invitations button, and the buttons, which run the import."""

from __future__ import annotations

import logging

import httpx
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError

from bot import enrol_imports, invite_imports
from bot.slack import import_blocks
from bot.slack.adapter import Caller, Slack, render
from bot.slack.middleware import CommandContextOpener
from handlers.enrol_import_text import FILE_UNREADABLE, STARTED, ImportKind, ImportPreview
from handlers.invite_import_text import InvitePreview
from handlers.replies import SOMETHING_WENT_WRONG, Notice, Reply, Tone

log = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    app.view(import_blocks.IMPORT_FORM)(import_form_submitted)
    app.action(import_blocks.START_ACTION)(import_start_clicked)
    app.action(import_blocks.SEND_ACTION)(invite_send_clicked)


async def _fetch(slack: Slack, file_id: str) -> tuple[bytes, str] | None:
    """The file's bytes and name, or None when Slack would not give them."""
    try:
        info = (await slack.client.files_info(file=file_id))["file"]
        url = str(info["url_private_download"])
        async with httpx.AsyncClient(timeout=slack.runtime.settings.slack_timeout_seconds) as http:
            got = await http.get(url, headers={"Authorization": f"Bearer {slack.client.token}"})
        got.raise_for_status()
    except (SlackApiError, httpx.HTTPError, KeyError) as exc:
        log.warning("could not fetch an import file (%s)", type(exc).__name__)
        return None
    if got.headers.get("content-type", "").startswith("text/html"):
        return None  # a sign-in page: the token lacks files:read
    return got.content, str(info.get("name") or "upload.xlsx")


async def import_form_submitted(
    ack: AsyncAck,
    body: dict,
    slack: Slack,
    caller: Caller,
    command_context: CommandContextOpener,
) -> None:
    view = body["view"]
    channel, kind = import_blocks.form_of(view.get("private_metadata"))
    file_id = import_blocks.submitted_file(view["state"]["values"])
    if file_id is None:
        no_file = import_blocks.FORMS[kind].no_file
        await ack(response_action="errors", errors={import_blocks.FILE_BLOCK: no_file})
        return
    await ack()  # the preview follows in the DM: a big file takes longer than Slack waits
    user_id = caller.account.subject
    try:
        reply = await _preview(slack, command_context, file_id, kind)
    except Exception:
        log.exception("import preview failed (user %s)", user_id)
        reply = SOMETHING_WENT_WRONG
    if isinstance(reply, ImportPreview | InvitePreview):
        if isinstance(reply, ImportPreview):
            message = import_blocks.import_preview(reply)
        else:
            message = import_blocks.invite_preview(reply)
        message.pop("response_type"), message.pop("replace_original")
        await slack.client.chat_postMessage(channel=user_id, **message)
    else:
        await slack.tell(channel, user_id, reply)


async def _preview(
    slack: Slack, command_context: CommandContextOpener, file_id: str, kind: ImportKind
) -> Reply | ImportPreview | InvitePreview:
    """The preview of the submitted file, or why there is none (who may import is checked
    before the file is fetched)."""
    async with command_context() as ctx:
        if kind is ImportKind.INVITE:
            who = await invite_imports.inviter_of(ctx)
        else:
            who = await enrol_imports.importer_of(ctx) or enrol_imports.NOT_ALLOWED
    if isinstance(who, Notice):
        return who
    fetched = await _fetch(slack, file_id)
    if fetched is None:
        return Notice(FILE_UNREADABLE, Tone.ERROR)
    if isinstance(who, invite_imports.Inviter):
        return await invite_imports.preview_bytes(slack.runtime, who, *fetched)
    return await enrol_imports.preview_bytes(slack.runtime, who, *fetched)


async def import_start_clicked(
    ack: AsyncAck, body: dict, slack: Slack, command_context: CommandContextOpener
) -> None:
    await ack()
    token = (body.get("actions") or [{}])[0].get("value") or ""
    response_url = body.get("response_url") or ""
    try:
        async with command_context() as ctx:
            importer = await enrol_imports.importer_of(ctx)
        if importer is None:
            await slack.answer(response_url, enrol_imports.NOT_ALLOWED)
            return
        started = render(Notice(STARTED)) | {"replace_original": True}  # the button goes
        await slack.replies.send(response_url, started)
        reply = await enrol_imports.start(slack.runtime, importer, token)
    except Exception:
        log.exception("import failed (user %s)", (body.get("user") or {}).get("id"))
        reply = SOMETHING_WENT_WRONG
    await slack.answer(response_url, reply)


async def invite_send_clicked(
    ack: AsyncAck, body: dict, slack: Slack, command_context: CommandContextOpener
) -> None:
    """Send invitations: sent, the preview is replaced by how many went; else a reply beside."""
    await ack()
    token = (body.get("actions") or [{}])[0].get("value") or ""
    try:
        async with command_context() as ctx:
            who = await invite_imports.inviter_of(ctx)
        reply = (
            who if isinstance(who, Notice) else await invite_imports.send(slack.runtime, who, token)
        )
    except Exception:
        log.exception("sending invitations failed (user %s)", (body.get("user") or {}).get("id"))
        reply = SOMETHING_WENT_WRONG
    message = render(reply) | {"replace_original": reply.tone is Tone.SUCCESS}
    await slack.replies.send(body.get("response_url") or "", message)
