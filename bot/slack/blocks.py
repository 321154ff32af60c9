"""Block Kit for every reply, built from handlers' plain replies with slack_sdk's models, which
check Slack's limits as they serialise. Pure functions: no network, no database."""

from __future__ import annotations

import json
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from handlers.links import LABEL_MAX, NOTES_MAX
from handlers.replies import (
    AskLinkDetails,
    ConfirmLinkDelete,
    ConfirmTokenDelete,
    EnrolButton,
    LinkCreated,
    Notice,
    Tone,
)

SECTION_LIMIT = 3000  # characters of text in one section block
MESSAGE_BLOCKS = 50
MORE_ROOM = 40  # "… and 123,456 more" always fits in the last section

ENROL_ACTION = "enrol"
ENROL_REGISTER_ACTION = "enrol_register"  # an Enrol button that lets guests register (--token)
DELETE_CONFIRM_ACTION = "link_delete_confirm"
DELETE_CANCEL_ACTION = "link_delete_cancel"
TOKEN_DELETE_CONFIRM_ACTION = "token_delete_confirm"
TOKEN_DELETE_CANCEL_ACTION = "token_delete_cancel"
LINK_FORM = "link_create"

_TONE = {Tone.SUCCESS: ":white_check_mark: ", Tone.ERROR: ":warning: ", Tone.INFO: ""}


def escape(text: str) -> str:
    """Slack's three control characters in mrkdwn: what users typed must not become markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text))


def packed_sections(lines: Sequence[str], room: int) -> list[SectionBlock]:
    """Lines, escaped, packed into as few sections as fit in `room` blocks, cut with a count of
    the lines left out if they overflow."""
    sections: list[SectionBlock] = []
    current: list[str] = []
    size = 0
    for n, line in enumerate(lines):
        line = escape(line)[: SECTION_LIMIT - MORE_ROOM]
        if current and size + len(line) + 1 > SECTION_LIMIT - MORE_ROOM:
            if len(sections) == room - 1:
                current.append(f"… and {len(lines) - n:,} more")
                break
            sections.append(_section("\n".join(current)))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        sections.append(_section("\n".join(current)[:SECTION_LIMIT]))
    return sections


def notice(reply: Notice) -> dict:
    """An ephemeral message: `response_type` and `replace_original` for response_url posts."""
    blocks: list[Block] = []
    text = _TONE[reply.tone] + escape(reply.text)
    if reply.heading:
        text = f"*{escape(reply.heading)}*\n{text}"
    blocks.append(_section(text[:SECTION_LIMIT]))
    blocks.extend(packed_sections(reply.lines, MESSAGE_BLOCKS - 1))
    return _message(reply.text, blocks)


def link_created(reply: LinkCreated) -> dict:
    label = f" ({escape(reply.label)})" if reply.label else ""
    blocks = [
        _section(
            f"{_TONE[Tone.SUCCESS]}Link {reply.link_id} for {escape(reply.item_title)}{label} is "
            f"ready:\n{reply.url}"
        ),
        ContextBlock(elements=[MarkdownTextObject(text=escape(reply.post_hint))]),
    ]
    return _message(f"Link {reply.link_id} is ready: {reply.url}", blocks)


def confirm_delete(reply: ConfirmLinkDelete | ConfirmTokenDelete) -> dict:
    """The question before a deletion, with a danger button and a Cancel."""
    if isinstance(reply, ConfirmTokenDelete):
        what = value = reply.token_ref
        confirm, cancel = TOKEN_DELETE_CONFIRM_ACTION, TOKEN_DELETE_CANCEL_ACTION
        noun = "token"
    else:
        what = value = str(reply.link_id)
        confirm, cancel = DELETE_CONFIRM_ACTION, DELETE_CANCEL_ACTION
        noun = "link"
    blocks = [
        _section(f"*{escape(reply.question)}*\n{escape(reply.consequence)}"),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text=f"Delete {noun} {what}", action_id=confirm, value=value, style="danger"
                ),
                ButtonElement(text="Cancel", action_id=cancel, value=value),
            ]
        ),
    ]
    return _message(reply.question, blocks)


def enrol_message(button: EnrolButton) -> dict:
    """The channel message learners click: title, kind and the Enrol button with the token.
    A registration button (posted with --token) carries the link's token and the signed
    reference to the registration token, and says guests may register with it."""
    lines = [f"*{escape(button.title)}*", f"{button.kind.capitalize()} · click Enrol to join"]
    action, value = ENROL_ACTION, button.token
    if button.registration is not None:
        action, value = ENROL_REGISTER_ACTION, f"{button.token} {button.registration}"
    blocks: list[Block] = [
        _section("\n".join(lines)),
        ActionsBlock(
            block_id=f"enrol-{button.link_id}",
            elements=[ButtonElement(text="Enrol", action_id=action, value=value, style="primary")],
        ),
    ]
    if button.outsiders_note:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=button.outsiders_note)]))
    return {"text": escape(button.text), "blocks": [b.to_dict() for b in blocks]}


def registration_value(value: str) -> tuple[str, str]:
    """A registration button's value: (the link's token, the signed registration reference)."""
    token, _, registration = value.partition(" ")
    return token, registration


def link_form(ask: AskLinkDetails, channel_id: str | None) -> dict:
    """The modal that asks for a new link's label and notes."""
    view = View(
        type="modal",
        callback_id=LINK_FORM,
        title=PlainTextObject(text="New enrolment link"),
        submit=PlainTextObject(text="Create link"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=json.dumps({"item": ask.item_slug, "channel": channel_id}),
        blocks=[
            _section(f"A new link for *{escape(ask.item_title)}*."),
            InputBlock(
                block_id="label",
                label="Label",
                hint="Where or for whom the link is used, e.g. “Intranet” or “Q3 email”.",
                element=PlainTextInputElement(action_id="value", max_length=LABEL_MAX),
            ),
            InputBlock(
                block_id="notes",
                label="Notes",
                optional=True,
                element=PlainTextInputElement(
                    action_id="value",
                    multiline=True,
                    max_length=NOTES_MAX,
                    initial_value=(ask.notes or "")[:NOTES_MAX] or None,
                ),
            ),
        ],
    )
    return view.to_dict()


def _message(fallback: str, blocks: list[Block]) -> dict:
    return {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": escape(fallback)[:3000],
        "blocks": [b.to_dict() for b in blocks],
    }
