"""Adaptive Cards (1.5) for every reply, built from handlers' plain replies. Pure functions.

Universal Actions (`Action.Execute`) carry every button press to the bot as an invoke, so the
answer can replace the card for the person who pressed it and no one else.
"""

from __future__ import annotations

import re

from handlers.links import LABEL_MAX, NOTES_MAX
from handlers.replies import (
    AskLinkDetails,
    ConfirmLinkDelete,
    EnrolButton,
    LinkCreated,
    Notice,
    Tone,
)

CARD = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
MAX_LINES = 100  # a Teams message holds about 28 KB
REFRESH_USERS_MAX = 60  # Teams refreshes a card for at most 60 listed users

ENROL = "enrol"
ENROL_VIEW = "enrolView"
LINK_CREATE = "linkCreate"
LINK_DELETE = "linkDelete"
LINK_DELETE_CANCEL = "linkDeleteCancel"

_COLOUR = {Tone.SUCCESS: "Good", Tone.ERROR: "Attention", Tone.INFO: "Default"}


def markdown(text: str) -> str:
    """Neutral text to a TextBlock's markdown: `code` (commands to type) becomes bold."""
    return re.sub(r"`([^`]+)`", r"**\1**", text)


def card(body: list[dict], actions: list[dict] | None = None, refresh: dict | None = None) -> dict:
    content: dict = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": "1.5", "body": body}
    if actions:
        content["actions"] = actions
    if refresh:
        content["refresh"] = refresh
    return content


def message(content: dict, summary: str = "") -> dict:
    """A message activity carrying one card."""
    activity = {"type": "message", "attachments": [{"contentType": CARD, "content": content}]}
    if summary:
        activity["summary"] = summary[:200]
    return activity


def _text(text: str, **style: object) -> dict:
    return {"type": "TextBlock", "text": markdown(text), "wrap": True, **style}


def notice(reply: Notice) -> dict:
    body = []
    if reply.heading:
        body.append(_text(reply.heading, weight="Bolder", size="Medium"))
    body.append(_text(reply.text, color=_COLOUR[reply.tone]))
    lines = list(reply.lines[:MAX_LINES])
    if len(reply.lines) > MAX_LINES:
        lines.append(f"… and {len(reply.lines) - MAX_LINES} more")
    body += [_text(line, spacing="Small") for line in lines]
    return card(body)


def link_created(reply: LinkCreated) -> dict:
    label = f" ({reply.label})" if reply.label else ""
    return card(
        [
            _text(f"Link {reply.link_id} for {reply.item_title}{label} is ready:", color="Good"),
            _text(reply.url, fontType="Monospace"),
            _text(reply.post_hint, isSubtle=True),
        ]
    )


def confirm_delete(reply: ConfirmLinkDelete) -> dict:
    data = {"link": str(reply.link_id)}
    return card(
        [_text(reply.question, weight="Bolder"), _text(reply.consequence)],
        [
            {
                "type": "Action.Execute",
                "title": f"Delete link {reply.link_id}",
                "verb": LINK_DELETE,
                "data": data,
                "style": "destructive",
            },
            {"type": "Action.Execute", "title": "Cancel", "verb": LINK_DELETE_CANCEL, "data": data},
        ],
    )


def link_form(
    ask: AskLinkDetails, label: str = "", notes: str = "", problem: str | None = None
) -> dict:
    body: list[dict] = [
        _text(f"A new link for **{ask.item_title}**.", weight="Bolder"),
        {
            "type": "Input.Text",
            "id": "label",
            "label": "Label",
            "isRequired": True,
            "maxLength": LABEL_MAX,
            "value": label,
            "placeholder": "Where or for whom the link is used, e.g. Intranet",
            "errorMessage": "Give the link a label.",
        },
    ]
    if problem:
        body.append(_text(problem, color="Attention", spacing="None"))
    body.append(
        {
            "type": "Input.Text",
            "id": "notes",
            "label": "Notes (optional)",
            "isMultiline": True,
            "maxLength": NOTES_MAX,
            "value": (notes or ask.notes or "")[:NOTES_MAX],
        }
    )
    return card(
        body,
        [
            {
                "type": "Action.Execute",
                "title": "Create link",
                "verb": LINK_CREATE,
                "data": {"item": ask.item_slug},
                "style": "positive",
            }
        ],
    )


def _refresh(token: str, user_ids: list[str]) -> dict:
    return {
        "action": {"type": "Action.Execute", "verb": ENROL_VIEW, "data": {"token": token}},
        "userIds": user_ids[-REFRESH_USERS_MAX:],
    }


def _heading(button: EnrolButton) -> list[dict]:
    return [
        _text(button.title, weight="Bolder", size="Medium"),
        _text(f"{button.kind.capitalize()} · click Enrol to join", isSubtle=True, spacing="None"),
    ]


def enrol_card(button: EnrolButton, refresh_user_ids: list[str] | None = None) -> dict:
    """The card everyone sees: the item and its Enrol button. Users listed for refresh are
    shown their own state instead (see enrolled_card)."""
    actions = [
        {
            "type": "Action.Execute",
            "title": "Enrol",
            "verb": ENROL,
            "data": {"token": button.token},
            "style": "positive",
        }
    ]
    return card(
        [*_heading(button), {"type": "ActionSet", "actions": actions}],
        refresh=_refresh(button.token, refresh_user_ids or []),
    )


def enrolled_card(
    button: EnrolButton, status: str, reply: Notice, refresh_user_ids: list[str]
) -> dict:
    """What one person sees after enrolling: the item, their state, no button."""
    return card(
        _heading(button)[:1]
        + [_text(status, color="Good", weight="Bolder"), _text(reply.text, spacing="Small")]
        + [_text(line) for line in reply.lines],
        refresh=_refresh(button.token, refresh_user_ids),
    )


def answered_card(button: EnrolButton, reply: Notice, refresh_user_ids: list[str]) -> dict:
    """A refusal, shown to the person who clicked, above the button they may try again."""
    actions = [
        {
            "type": "Action.Execute",
            "title": "Enrol",
            "verb": ENROL,
            "data": {"token": button.token},
            "style": "positive",
        }
    ]
    return card(
        [
            *_heading(button),
            _text(reply.text, color=_COLOUR[reply.tone]),
            {"type": "ActionSet", "actions": actions},
        ],
        refresh=_refresh(button.token, refresh_user_ids),
    )


def invoke_card(content: dict) -> dict:
    """The HTTP answer to an Action.Execute: the card that replaces the pressed one, for the
    person who pressed it."""
    return {"statusCode": 200, "type": CARD, "value": content}


def invoke_message(text: str) -> dict:
    return {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": text}
