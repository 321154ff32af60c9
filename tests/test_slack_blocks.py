"""Block Kit builders: every payload re-parsed by slack_sdk's models, and Slack's limits kept."""

from __future__ import annotations

import json

import pytest
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.slack import blocks
from bot.slack.register_blocks import registration_answer, registration_form
from handlers.links import LABEL_MAX, NOTES_MAX, new_secret
from handlers.registration_text import Answer, RegistrationForm
from handlers.replies import (
    AskLinkDetails,
    ConfirmLinkDelete,
    EnrolButton,
    LinkCreated,
    Notice,
    Tone,
)
from handlers.signing import (
    SLACK_BUTTON_VALUE_LIMIT,
    LinkSigner,
    RegistrationRef,
    RegistrationRefSigner,
)

SIGNER = LinkSigner(["blocks-test-key"])
NASTY = "R&D <!channel> <https://evil.example|click> a > b"
NASTY_ESCAPED = "R&amp;D &lt;!channel&gt; &lt;https://evil.example|click&gt; a &gt; b"


def parsed(message: dict) -> list[Block]:
    """Each block as slack_sdk reads it back; serialising again validates Slack's limits."""
    assert isinstance(message["blocks"], list) and message["blocks"]
    assert len(message["blocks"]) <= blocks.MESSAGE_BLOCKS
    out = []
    for raw in message["blocks"]:
        block = Block.parse(raw)
        assert block is not None, raw
        assert block.to_dict() == raw
        out.append(block)
    json.dumps(message)  # what is sent over the wire
    return out


def section_texts(message: dict) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]


def button(token: str = "", **kw) -> EnrolButton:
    fields = {
        "channel": "C123",
        "channel_name": "ops",
        "link_id": 42,
        "token": token or SIGNER.sign(1, 42, new_secret()),
        "title": "Safety 101",
        "kind": "topic",
    }
    return EnrolButton(**(fields | kw))


# Enrol button --------------------------------------------------------------------------------------


def test_enrol_message_carries_the_token_as_the_button_value():
    token = SIGNER.sign(1, 42, new_secret())
    message = blocks.enrol_message(button(token))
    section, actions = parsed(message)
    assert isinstance(section, SectionBlock) and isinstance(actions, ActionsBlock)
    assert section.text.text == "*Safety 101*\nTopic · click Enrol to join"
    assert actions.block_id == "enrol-42"
    (enrol,) = actions.elements
    assert isinstance(enrol, ButtonElement)
    assert (enrol.action_id, enrol.style, enrol.text.text) == (
        blocks.ENROL_ACTION,
        "primary",
        "Enrol",
    )
    assert enrol.value == token
    assert len(enrol.value) < SLACK_BUTTON_VALUE_LIMIT
    assert message["text"] == "Safety 101 (topic): click Enrol to join."
    # a channel message, not an ephemeral reply
    assert "response_type" not in message


def test_the_largest_token_still_fits_a_button_value():
    token = SIGNER.sign(2**63 - 1, 2**63 - 1, new_secret())
    (_, actions) = parsed(blocks.enrol_message(button(token, link_id=2**31 - 1)))
    value = actions.elements[0].value
    assert value == token and len(value) < SLACK_BUTTON_VALUE_LIMIT


def test_enrol_message_escapes_the_title():
    message = blocks.enrol_message(button(title=NASTY))
    parsed(message)
    assert section_texts(message)[0].startswith(f"*{NASTY_ESCAPED}*\n")


# notice --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tone", "prefix"),
    [(Tone.INFO, ""), (Tone.SUCCESS, ":white_check_mark: "), (Tone.ERROR, ":warning: ")],
)
def test_a_notice_is_an_ephemeral_section_with_its_tone(tone, prefix):
    message = blocks.notice(Notice("Link 3 is deactivated.", tone))
    (section,) = parsed(message)
    assert isinstance(section, SectionBlock)
    assert section.text.type == "mrkdwn"
    assert section.text.text == prefix + "Link 3 is deactivated."
    assert (message["response_type"], message["replace_original"]) == ("ephemeral", False)
    assert message["text"] == "Link 3 is deactivated."


def test_a_notice_with_a_heading_and_lines():
    message = blocks.notice(
        Notice("2 items:", lines=("`a` · topic", "`b` · article"), heading="Items")
    )
    parsed(message)
    assert section_texts(message) == ["*Items*\n2 items:", "`a` · topic\n`b` · article"]


def test_a_notice_escapes_what_users_typed():
    message = blocks.notice(Notice(NASTY, Tone.ERROR, lines=(NASTY, "x<y"), heading="<b>&"))
    parsed(message)
    head, body = section_texts(message)
    assert head == f"*&lt;b&gt;&amp;*\n:warning: {NASTY_ESCAPED}"
    assert body == f"{NASTY_ESCAPED}\nx&lt;y"
    for text in (head, body):
        assert "<" not in text and ">" not in text


@pytest.mark.parametrize("length", [20, 300, 1000, 3500])
def test_a_notice_with_500_long_lines_keeps_to_slacks_limits(length):
    lines = tuple(f"{n:03} ".ljust(length, "x") for n in range(500))
    message = blocks.notice(Notice("500 links:", lines=lines))
    parsed(message)
    assert len(message["blocks"]) <= 50
    for text in section_texts(message):
        assert len(text) <= blocks.SECTION_LIMIT
    assert len(message["text"]) <= 3000


@pytest.mark.parametrize("length", [300, 1000])
def test_a_notice_that_is_cut_says_how_many_lines_are_left_out(length):
    lines = tuple(f"{n:03} ".ljust(length, "x") for n in range(500))
    message = blocks.notice(Notice("500 links:", lines=lines))
    parsed(message)
    body = "\n".join(section_texts(message)[1:]).split("\n")
    assert len(message["blocks"]) == 50
    *shown, last = body
    assert shown == list(lines[: len(shown)])  # whole lines, in order
    assert last == f"… and {500 - len(shown)} more"


def test_a_short_notice_is_not_cut():
    lines = tuple(f"line {n}" for n in range(500))
    message = blocks.notice(Notice("500 lines:", lines=lines))
    parsed(message)
    body = "\n".join(section_texts(message)[1:]).split("\n")
    assert body == list(lines)
    assert "more" not in body[-1]


# link created --------------------------------------------------------------------------------------


def test_link_created_shows_the_url_and_how_to_post_it():
    reply = LinkCreated(
        link_id=7,
        item_title="Safety & <Health>",
        label="Team <intranet>",
        url="https://enrol.example.com/enrol/abc.def",
        post_hint="Post it as a button with `/enrol post 7 #channel`, or share the URL.",
    )
    message = blocks.link_created(reply)
    section, context = parsed(message)
    assert isinstance(section, SectionBlock) and isinstance(context, ContextBlock)
    assert section.text.text == (
        ":white_check_mark: Link 7 for Safety &amp; &lt;Health&gt; (Team &lt;intranet&gt;) is "
        "ready:\nhttps://enrol.example.com/enrol/abc.def"
    )
    assert context.elements[0].text == (
        "Post it as a button with `/enrol post 7 #channel`, or share the URL."
    )
    assert message["text"] == "Link 7 is ready: https://enrol.example.com/enrol/abc.def"
    assert message["response_type"] == "ephemeral"


def test_link_created_without_a_label():
    message = blocks.link_created(LinkCreated(8, "Safety 101", None, "https://e/enrol/t", "hint"))
    parsed(message)
    assert section_texts(message)[0] == (
        ":white_check_mark: Link 8 for Safety 101 is ready:\nhttps://e/enrol/t"
    )


# confirm delete ------------------------------------------------------------------------------------


def test_confirm_delete_asks_with_a_danger_button_and_a_cancel():
    reply = ConfirmLinkDelete(
        12,
        "Delete Link 12 (R&D <safety>, Intranet)?",
        "Every Enrol button and URL made from it stops working for good.",
    )
    message = blocks.confirm_delete(reply)
    section, actions = parsed(message)
    assert isinstance(section, SectionBlock) and isinstance(actions, ActionsBlock)
    assert section.text.text == (
        "*Delete Link 12 (R&amp;D &lt;safety&gt;, Intranet)?*\n"
        "Every Enrol button and URL made from it stops working for good."
    )
    delete, cancel = actions.elements
    assert (delete.action_id, delete.value, delete.style, delete.text.text) == (
        blocks.DELETE_CONFIRM_ACTION,
        "12",
        "danger",
        "Delete link 12",
    )
    assert (cancel.action_id, cancel.value, cancel.style) == (
        blocks.DELETE_CANCEL_ACTION,
        "12",
        None,
    )
    assert message["response_type"] == "ephemeral"


# the new-link form ---------------------------------------------------------------------------------


def test_link_form_is_a_valid_modal_with_a_required_label_and_optional_notes():
    view_dict = blocks.link_form(
        AskLinkDetails("safety-101", "Safety & <Health>", notes="for HR"), "C123"
    )
    view = View(**view_dict)
    assert view.to_dict() == view_dict
    assert (view.type, view.callback_id) == ("modal", blocks.LINK_FORM)
    assert view.title.text == "New enrolment link" and len(view.title.text) <= 24
    assert (view.submit.text, view.close.text) == ("Create link", "Cancel")
    assert json.loads(view.private_metadata) == {"item": "safety-101", "channel": "C123"}

    intro, label, notes = (Block.parse(b) for b in view_dict["blocks"])
    assert isinstance(intro, SectionBlock)
    assert intro.text.text == "A new link for *Safety &amp; &lt;Health&gt;*."

    assert isinstance(label, InputBlock) and isinstance(notes, InputBlock)
    assert label.block_id == "label" and not label.optional
    assert isinstance(label.element, PlainTextInputElement)
    assert (label.element.action_id, label.element.max_length) == ("value", LABEL_MAX)
    assert label.element.initial_value is None

    assert notes.block_id == "notes" and notes.optional is True
    assert isinstance(notes.element, PlainTextInputElement)
    assert (notes.element.action_id, notes.element.multiline) == ("value", True)
    assert notes.element.max_length == NOTES_MAX
    assert notes.element.initial_value == "for HR"


def test_link_form_without_notes_or_channel():
    view_dict = blocks.link_form(AskLinkDetails("gdpr", "GDPR basics"), None)
    View(**view_dict).to_dict()
    assert "initial_value" not in view_dict["blocks"][2]["element"]
    assert json.loads(view_dict["private_metadata"]) == {"item": "gdpr", "channel": None}


def test_escape_handles_each_control_character_once():
    assert blocks.escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert blocks.escape("&lt;") == "&amp;lt;"
    assert blocks.escape("plain") == "plain"


def _markup(node: object) -> list[str]:
    """Every string Slack reads as mrkdwn: mrkdwn text objects, and a message's fallback text
    (which notifications and clients without blocks render as mrkdwn)."""
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            found.append(node["text"])
        for key, value in node.items():
            if key == "text" and isinstance(value, str) and "blocks" in node:
                found.append(value)
            found.extend(_markup(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_markup(value))
    return found


@pytest.mark.parametrize(
    "message",
    [
        blocks.notice(Notice(NASTY, Tone.ERROR, lines=(NASTY,), heading=NASTY)),
        blocks.link_created(LinkCreated(3, NASTY, NASTY, "https://e/enrol/t", NASTY)),
        blocks.confirm_delete(ConfirmLinkDelete(3, NASTY, NASTY)),
        blocks.enrol_message(button(title=NASTY)),
        blocks.link_form(AskLinkDetails("safety-101", NASTY, notes=NASTY), "C123"),
    ],
    ids=["notice", "link_created", "confirm_delete", "enrol_message", "link_form"],
)
def test_no_builder_lets_a_typed_string_become_a_mention_or_a_link(message):
    texts = _markup(message)
    assert texts and any(NASTY_ESCAPED in t for t in texts)
    for text in texts:
        assert "<!channel>" not in text and "<https://evil.example|" not in text
    if "text" in message:  # the fallback text too, for messages (a modal has none)
        assert "<" not in message["text"]


# A registration button and its modal ---------------------------------------------------------------


def test_a_registration_button_carries_the_link_and_the_signed_reference_within_slacks_limit():
    ref = RegistrationRefSigner.beside(SIGNER).sign(RegistrationRef(1, 2**31 - 1))
    posted = button(registration=ref, token_name="t3")
    message = blocks.enrol_message(posted)
    parsed = [Block.parse(b) for b in message["blocks"]]
    for block in parsed:
        block.validate_json()
    [enrol] = parsed[1].elements
    assert enrol.action_id == blocks.ENROL_REGISTER_ACTION
    assert len(enrol.value) <= SLACK_BUTTON_VALUE_LIMIT
    assert blocks.registration_value(enrol.value) == (posted.token, ref)
    assert isinstance(parsed[2], ContextBlock)


def test_the_registration_modal_escapes_the_title_and_keeps_names_within_their_limits():
    evil = "<!channel> *Safety* <https://evil.example|101>"
    view = registration_form(RegistrationForm("REF", evil, "x" * 500, "Lee", "a@b.test", "C1"))
    parsed = View(**view)
    parsed.validate_json()
    intro = view["blocks"][0]["text"]["text"]
    assert "<" not in intro and "&lt;!channel&gt;" in intro
    values = {b["block_id"]: b["element"] for b in view["blocks"][1:]}
    assert values["first_name"]["initial_value"] == "x" * 100
    assert values["email"]["type"] == "email_text_input"
    assert json.loads(view["private_metadata"]) == {"ref": "REF", "channel": "C1"}
    done = registration_answer(Answer(evil, (evil,), ("Open it", "https://learn.example/s")))
    View(**done).validate_json()
    assert "submit" not in done and "<!channel>" not in json.dumps(done)
