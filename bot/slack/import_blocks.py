"""Spreadsheet imports on Slack: the modal `enrol import` and `invite import` open, with its
file_input (slack_sdk has no model of that element, so it is the one dict here; Slack documents
it as an input block's element), the kind of import in its private_metadata; and the previews
with their Start import or Send invitations button. Pure functions."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, InputBlock
from slack_sdk.models.views import View

from bot.slack.blocks import MESSAGE_BLOCKS, notice
from handlers import enrol_import_text, invite_import_text
from handlers.enrol_import_text import START, ImportForm, ImportKind, ImportPreview
from handlers.invite_import_text import SEND, InvitePreview
from handlers.replies import Notice

IMPORT_FORM = "enrol_import_form"  # both kinds: the kind rides in private_metadata
FILE_BLOCK = "sheet"
FILE_ACTION = "file"
START_ACTION = "enrol_import_start"
SEND_ACTION = "invite_import_send"
FORMS: dict[ImportKind, ImportForm] = {
    ImportKind.ENROL: enrol_import_text.FORM,
    ImportKind.INVITE: invite_import_text.FORM,
}


def import_form(channel_id: str | None, kind: ImportKind = ImportKind.ENROL) -> dict:
    """The modal an import command opens: one file, .xlsx or .csv."""
    words = FORMS[kind]
    view = View(
        type="modal",
        callback_id=IMPORT_FORM,
        title=words.title[:24],
        submit=words.submit,
        close="Cancel",
        private_metadata=json.dumps({"channel": channel_id, "kind": kind.value}),
        blocks=[
            InputBlock(
                block_id=FILE_BLOCK,
                label=words.label,
                hint=words.hint,
                element={
                    "type": "file_input",
                    "action_id": FILE_ACTION,
                    "filetypes": ["xlsx", "csv"],
                    "max_files": 1,
                },
            )
        ],
    )
    return view.to_dict()


def form_of(private_metadata: str | None) -> tuple[str | None, ImportKind]:
    """The channel the command came from and the kind of import, from a submitted modal (one
    opened before kinds existed is an enrolment import)."""
    try:
        meta = json.loads(private_metadata or "{}")
    except ValueError:
        meta = {}
    meta = meta if isinstance(meta, dict) else {}
    try:
        kind = ImportKind(meta.get("kind") or ImportKind.ENROL)
    except ValueError:
        kind = ImportKind.ENROL
    channel = meta.get("channel")
    return (channel if isinstance(channel, str) else None), kind


def submitted_file(values: dict) -> str | None:
    """The id of the file a submission carries (view.state.values: a file_input's `files`)."""
    state = (values.get(FILE_BLOCK) or {}).get(FILE_ACTION) or {}
    files = state.get("files") or []
    first = files[0] if files and isinstance(files[0], dict) else {}
    return str(first["id"]) if first.get("id") else None


def _with_button(summary: Notice, button: ButtonElement | None) -> dict:
    message = notice(summary)
    if button is None:
        return message
    blocks = message["blocks"][: MESSAGE_BLOCKS - 1]
    blocks.append(ActionsBlock(block_id="start", elements=[button]).to_dict())
    return {**message, "blocks": blocks}


def import_preview(reply: ImportPreview) -> dict:
    """The final check, with a Start import button when there is something to import."""
    button = None
    if reply.start is not None:
        button = ButtonElement(
            text=START, action_id=START_ACTION, value=reply.start, style="primary"
        )
    return _with_button(reply.summary, button)


def invite_preview(reply: InvitePreview) -> dict:
    """The invitations' preview, with Send invitations only when no row needs fixing."""
    button = None
    if reply.send is not None:
        button = ButtonElement(text=SEND, action_id=SEND_ACTION, value=reply.send, style="primary")
    return _with_button(reply.summary, button)
