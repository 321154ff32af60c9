"""Spreadsheet enrolment on Slack: the `enrol import` modal with its file_input (slack_sdk has
no model of that element, so it is the one dict here; Slack documents it as an input block's
element), and the preview with its Start import button. Pure functions."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, InputBlock
from slack_sdk.models.views import View

from bot.slack.blocks import MESSAGE_BLOCKS, notice
from handlers.enrol_import_text import (
    IMPORT_FILE_HINT,
    IMPORT_FILE_LABEL,
    IMPORT_SUBMIT,
    IMPORT_TITLE,
    START,
    ImportPreview,
)

IMPORT_FORM = "enrol_import_form"
FILE_BLOCK = "sheet"
FILE_ACTION = "file"
START_ACTION = "enrol_import_start"


def import_form(channel_id: str | None) -> dict:
    """The modal `enrol import` opens: one file, .xlsx or .csv."""
    view = View(
        type="modal",
        callback_id=IMPORT_FORM,
        title=IMPORT_TITLE[:24],
        submit=IMPORT_SUBMIT,
        close="Cancel",
        private_metadata=json.dumps({"channel": channel_id}),
        blocks=[
            InputBlock(
                block_id=FILE_BLOCK,
                label=IMPORT_FILE_LABEL,
                hint=IMPORT_FILE_HINT,
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


def submitted_file(values: dict) -> str | None:
    """The id of the file a submission carries (view.state.values: a file_input's `files`)."""
    state = (values.get(FILE_BLOCK) or {}).get(FILE_ACTION) or {}
    files = state.get("files") or []
    first = files[0] if files and isinstance(files[0], dict) else {}
    return str(first["id"]) if first.get("id") else None


def import_preview(reply: ImportPreview) -> dict:
    """The final check, with a Start import button when there is something to import."""
    message = notice(reply.summary)
    if reply.start is None:
        return message
    button = ButtonElement(text=START, action_id=START_ACTION, value=reply.start, style="primary")
    blocks = message["blocks"][: MESSAGE_BLOCKS - 1]
    blocks.append(ActionsBlock(block_id="start", elements=[button]).to_dict())
    return {**message, "blocks": blocks}
