"""The registration modal a guest, or someone from another organisation, gets from an Enrol
button posted with `post ITEM --token TOKEN`: the registration page's fields, filled in from
their Slack profile, and what happened once they sent it. Pure builders over slack_sdk's
models, which check Slack's limits as they serialise."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    EmailInputElement,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.slack.blocks import escape
from handlers.registration import FIELD_MAX, NAME_MAX
from handlers.registration_text import (
    MODAL_DONE,
    MODAL_SUBMIT,
    MODAL_TITLE,
    Answer,
    RegistrationForm,
)

REGISTER_FORM = "register"
OPEN_ITEM_ACTION = "register_open_item"  # the link to the item once registered
FIELDS = ("first_name", "last_name", "email")  # block ids; each input's action_id is "value"
_LABELS = {"first_name": "First name", "last_name": "Last name", "email": "Email address"}


def registration_form(form: RegistrationForm) -> dict:
    """The modal: first name, last name and email, each filled in where the profile had it;
    the token rides in private_metadata as its signed reference, never shown."""
    initial = {"first_name": form.first_name, "last_name": form.last_name, "email": form.email}
    inputs: list[Block] = []
    for name in FIELDS:
        if name == "email":
            value = initial[name][:FIELD_MAX] or None
            element = EmailInputElement(action_id="value", initial_value=value)
        else:
            value = initial[name][:NAME_MAX] or None
            element = PlainTextInputElement(
                action_id="value", max_length=NAME_MAX, initial_value=value
            )
        inputs.append(InputBlock(block_id=name, label=_LABELS[name], element=element))
    view = View(
        type="modal",
        callback_id=REGISTER_FORM,
        title=PlainTextObject(text=MODAL_TITLE),
        submit=PlainTextObject(text=MODAL_SUBMIT),
        close=PlainTextObject(text="Cancel"),
        private_metadata=json.dumps({"ref": form.ref, "channel": form.channel}),
        blocks=[SectionBlock(text=MarkdownTextObject(text=escape(form.intro))), *inputs],
    )
    return view.to_dict()


def registration_answer(answer: Answer) -> dict:
    """The modal once the registration went through, or could not: a heading, sentences, and
    the way to the item where the catalog has one."""
    text = f"*{escape(answer.heading)}*\n" + "\n".join(escape(s) for s in answer.sentences)
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=text[:3000]))]
    if answer.link is not None:
        words, url = answer.link
        button = ButtonElement(text=words[:75], action_id=OPEN_ITEM_ACTION, url=url)
        blocks.append(ActionsBlock(elements=[button]))
    view = View(
        type="modal",
        callback_id=f"{REGISTER_FORM}_done",
        title=PlainTextObject(text=MODAL_TITLE),
        close=PlainTextObject(text=MODAL_DONE),
        blocks=blocks,
    )
    return view.to_dict()
