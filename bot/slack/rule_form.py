"""`rule create ITEM` without options, on Slack: the modal with handlers.commands.rule_form's
fields, and its submitted state read back into the form's answers. Pure functions."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import (
    CheckboxesElement,
    DatePickerElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.slack.blocks import escape
from handlers.commands.rule_form import CHECK, CHOICE, DATE, FIELDS, Field
from handlers.replies import AskRuleDetails

RULE_FORM = "rule_form"
ACTION = "value"


def _element(field: Field):
    if field.kind == DATE:
        return DatePickerElement(action_id=ACTION)
    if field.kind == CHECK:
        return CheckboxesElement(action_id=ACTION, options=[Option(value="on", label=field.label)])
    if field.kind == CHOICE:
        options = [Option(value=v, label=label) for v, label in field.choices]
        return RadioButtonsElement(action_id=ACTION, options=options, initial_option=options[0])
    return PlainTextInputElement(action_id=ACTION, max_length=500)


def _input(field: Field) -> InputBlock:
    return InputBlock(
        block_id=field.id,
        label=field.label if field.kind != CHECK else " ",
        hint=field.hint or None,
        optional=field.kind != CHOICE,
        element=_element(field),
    )


def rule_form(ask: AskRuleDetails, channel_id: str | None) -> dict:
    """The modal asking who a new rule on the item is for, and its terms."""
    intro = (
        f"A rule for *{escape(ask.item_title)}*: say who (everyone, groups, where, a manager, "
        "hired or added after) and the terms. The answer says how many it enrols."
    )
    view = View(
        type="modal",
        callback_id=RULE_FORM,
        title=PlainTextObject(text="New enrolment rule"),
        submit=PlainTextObject(text="Create rule"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=json.dumps({"item": ask.item_slug, "channel": channel_id}),
        blocks=[SectionBlock(text=MarkdownTextObject(text=intro)), *map(_input, FIELDS)],
    )
    return view.to_dict()


def answers(values: dict) -> dict[str, object]:
    """The form's answers from a view's state.values, by field id."""
    found: dict[str, object] = {}
    for field in FIELDS:
        state = (values.get(field.id) or {}).get(ACTION) or {}
        if field.kind == CHECK:
            found[field.id] = bool(state.get("selected_options"))
        elif field.kind == DATE:
            found[field.id] = state.get("selected_date") or ""
        elif field.kind == CHOICE:
            found[field.id] = (state.get("selected_option") or {}).get("value") or ""
        else:
            found[field.id] = (state.get("value") or "").strip()
    return found
