"""Adaptive Cards (1.5) for every reply, built from handlers' plain replies. Pure functions.

Universal Actions (`Action.Execute`) carry every button press to the bot as an invoke, so the
answer can replace the card for the person who pressed it and no one else.

A TextBlock's text is Markdown, and Teams renders links, emphasis and lists in it: every
string a person supplied (names, titles, labels, words they typed) is escaped first (`escape`),
so it reads as they wrote it and never becomes a link someone else clicks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.links import LABEL_MAX, NOTES_MAX
from handlers.replies import (
    AskLinkDetails,
    ConfirmLinkDelete,
    ConfirmTokenDelete,
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
TOKEN_DELETE = "tokenDelete"
TOKEN_DELETE_CANCEL = "tokenDeleteCancel"

_COLOUR = {Tone.SUCCESS: "Good", Tone.ERROR: "Attention", Tone.INFO: "Default"}


# The inline syntax the Adaptive Card renderers honour (emphasis, links, code; backslash so
# that a typed one cannot undo ours). Every renderer Teams uses drops the backslash before
# these: markdown-it on desktop and web, the shared model's parser on iOS and Android.
_INLINE = re.compile(r"([\\`*_\[\]])")
# A typed "](" makes a link wherever a renderer ignores backslashes: an invisible zero-width
# space between the two breaks it in every parser, and shows nothing.
_LINK_TEXT_END = "\\]("
# Markers that make a line a list, quote, heading or rule (a typed "*" is escaped already); a
# zero-width space before them leaves the line a paragraph, where a backslash would show on the
# mobile renderers.
_LINE_MARKER = re.compile(r"^([ \t]*)(?=[-+>#=~]|\d+[.)])", re.MULTILINE)
_ZWSP = "\u200b"


def _inline(text: str) -> str:
    return _INLINE.sub(r"\\\1", text).replace(_LINK_TEXT_END, f"\\]{_ZWSP}(")


def _lines(markdown_text: str) -> str:
    return _LINE_MARKER.sub(f"\\1{_ZWSP}", markdown_text)


def escape(text: str) -> str:
    """Text a person supplied, shown literally in a TextBlock: no links, emphasis or lists."""
    return _lines(_inline(text))


def neutral(text: str) -> str:
    """A sentence from handlers, which may quote what people typed, as a TextBlock's markdown:
    all of it escaped, then `code` (commands to type) made bold."""
    parts, at = [], 0
    for code in re.finditer(r"`([^`]+)`", text):
        parts += [_inline(text[at : code.start()]), f"**{_inline(code.group(1))}**"]
        at = code.end()
    return _lines("".join([*parts, _inline(text[at:])]))


@dataclass(frozen=True)
class Offer:
    """What an Enrol card shows: the item, and the token its button carries (and, for a
    button posted with --token, the signed reference to the registration token)."""

    token: str
    title: str
    kind: str
    registration: str | None = None

    @property
    def data(self) -> dict:
        """What the card's actions carry back to the bot."""
        if self.registration is None:
            return {"token": self.token}
        return {"token": self.token, "registration": self.registration}

    @property
    def summary(self) -> str:
        """The message's preview in notifications and the chat list (plain text)."""
        return f"{self.title} ({self.kind}): click Enrol to join."


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


def _say(text: str, **style: object) -> dict:
    """A TextBlock saying a handler's sentence (see `neutral`)."""
    return {"type": "TextBlock", "text": neutral(text), "wrap": True, **style}


def _block(markdown_text: str, **style: object) -> dict:
    """A TextBlock of markdown built here, its people's strings already escaped."""
    return {"type": "TextBlock", "text": markdown_text, "wrap": True, **style}


def notice(reply: Notice) -> dict:
    body = []
    if reply.heading:
        body.append(_say(reply.heading, weight="Bolder", size="Medium"))
    body.append(_say(reply.text, color=_COLOUR[reply.tone]))
    lines = list(reply.lines[:MAX_LINES])
    if len(reply.lines) > MAX_LINES:
        lines.append(f"… and {len(reply.lines) - MAX_LINES} more")
    body += [_say(line, spacing="Small") for line in lines]
    return card(body)


def report_link(summary: Notice, url: str, note: str, button: str) -> dict:
    """A report's summary with a button that opens its CSV's download link (the link is ours,
    built from ENROLBOT_PUBLIC_URL and a signed token, never from what anyone typed)."""
    content = notice(summary)
    content["body"].append(_say(note, isSubtle=True, spacing="Medium"))
    content["actions"] = [{"type": "Action.OpenUrl", "title": button, "url": url}]
    return content


def link_created(reply: LinkCreated) -> dict:
    label = f" ({reply.label})" if reply.label else ""
    return card(
        [
            _say(f"Link {reply.link_id} for {reply.item_title}{label} is ready:", color="Good"),
            _block(escape(reply.url), fontType="Monospace"),
            _say(reply.post_hint, isSubtle=True),
        ]
    )


def confirm_delete(reply: ConfirmLinkDelete | ConfirmTokenDelete) -> dict:
    """The question before a deletion, with a destructive button and a Cancel."""
    if isinstance(reply, ConfirmTokenDelete):
        data, title = {"token": reply.token_ref}, f"Delete token {reply.token_ref}"
        confirm, cancel = TOKEN_DELETE, TOKEN_DELETE_CANCEL
    else:
        data, title = {"link": str(reply.link_id)}, f"Delete link {reply.link_id}"
        confirm, cancel = LINK_DELETE, LINK_DELETE_CANCEL
    return card(
        [_say(reply.question, weight="Bolder"), _say(reply.consequence)],
        [
            {
                "type": "Action.Execute",
                "title": title,
                "verb": confirm,
                "data": data,
                "style": "destructive",
            },
            {"type": "Action.Execute", "title": "Cancel", "verb": cancel, "data": data},
        ],
    )


def link_form(
    ask: AskLinkDetails, label: str = "", notes: str = "", problem: str | None = None
) -> dict:
    body: list[dict] = [
        _block(f"A new link for **{_inline(ask.item_title)}**.", weight="Bolder"),
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
        body.append(_say(problem, color="Attention", spacing="None"))
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


def _refresh(offer: Offer, user_ids: list[str]) -> dict:
    return {
        "action": {"type": "Action.Execute", "verb": ENROL_VIEW, "data": offer.data},
        "userIds": user_ids[-REFRESH_USERS_MAX:],
    }


def _heading(offer: Offer) -> list[dict]:
    return [
        _block(escape(offer.title), weight="Bolder", size="Medium"),
        _say(f"{offer.kind.capitalize()} · click Enrol to join", isSubtle=True, spacing="None"),
    ]


def _enrol_button(offer: Offer) -> dict:
    return {
        "type": "ActionSet",
        "actions": [
            {
                "type": "Action.Execute",
                "title": "Enrol",
                "verb": ENROL,
                "data": offer.data,
                "style": "positive",
            }
        ],
    }


def enrol_card(offer: Offer, refresh_user_ids: list[str] | None = None) -> dict:
    """The card everyone sees: the item and its Enrol button. Users listed for refresh are
    shown their own state instead (see enrolled_card)."""
    return card(
        [*_heading(offer), _enrol_button(offer)],
        refresh=_refresh(offer, refresh_user_ids or []),
    )


def enrolled_card(offer: Offer, status: str, reply: Notice, refresh_user_ids: list[str]) -> dict:
    """What one person sees after enrolling: the item, their state, no button."""
    return card(
        _heading(offer)[:1]
        + [_say(status, color="Good", weight="Bolder"), _say(reply.text, spacing="Small")]
        + [_say(line) for line in reply.lines],
        refresh=_refresh(offer, refresh_user_ids),
    )


def answered_card(offer: Offer, reply: Notice, refresh_user_ids: list[str]) -> dict:
    """A refusal, shown to the person who clicked, above the button they may try again."""
    return card(
        [
            *_heading(offer),
            _say(reply.text, color=_COLOUR[reply.tone]),
            _enrol_button(offer),
        ],
        refresh=_refresh(offer, refresh_user_ids),
    )


def invoke_card(content: dict) -> dict:
    """The HTTP answer to an Action.Execute: the card that replaces the pressed one, for the
    person who pressed it."""
    return {"statusCode": 200, "type": CARD, "value": content}


def invoke_message(text: str) -> dict:
    return {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": text}
