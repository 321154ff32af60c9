"""Modals: the new-link form and a registration button's form, validated on submit, errors
shown on the field that needs fixing."""

from __future__ import annotations

import json
import logging

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.slack import blocks, register_blocks, registration, rule_form
from bot.slack.adapter import Caller, Slack
from bot.slack.middleware import CommandContextOpener
from handlers import commands
from handlers.commands.rule_form import submit_rule_form
from handlers.replies import SOMETHING_WENT_WRONG, Notice, Reply, Tone

log = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    app.view(blocks.LINK_FORM)(link_form_submitted)
    app.view(register_blocks.REGISTER_FORM)(registration_submitted)
    app.view(rule_form.RULE_FORM)(rule_form_submitted)


async def registration_submitted(ack: AsyncAck, body: dict, slack: Slack, caller: Caller) -> None:
    """A guest's registration: acknowledged with the field errors or the modal's new face."""
    try:
        answer = await registration.submitted(slack, body, caller)
    except Exception:
        log.exception("registration from Slack failed (user %s)", caller.account.subject)
        answer = registration.went_wrong()
    await ack(**answer)


async def link_form_submitted(
    ack: AsyncAck,
    body: dict,
    slack: Slack,
    caller: Caller,
    command_context: CommandContextOpener,
) -> None:
    view = body["view"]
    meta = json.loads(view.get("private_metadata") or "{}")
    values = view["state"]["values"]
    label = (values["label"]["value"].get("value") or "").strip()
    notes = (values["notes"]["value"].get("value") or "").strip()
    user_id = caller.account.subject
    reply: Reply
    try:
        async with command_context() as ctx:
            result = await commands.submit_link_form(ctx, meta.get("item", ""), label, notes)
        if isinstance(result, commands.FieldProblem):
            await ack(response_action="errors", errors={result.field: result.message})
            return
        reply = result
    except Exception:
        log.exception("new-link form failed (user %s)", user_id)
        reply = SOMETHING_WENT_WRONG
    await ack()
    await slack.tell(meta.get("channel"), user_id, reply)


async def rule_form_submitted(
    ack: AsyncAck,
    body: dict,
    slack: Slack,
    caller: Caller,
    command_context: CommandContextOpener,
) -> None:
    """The new-rule modal: the same `rule create` path; a mistake is shown on the form."""
    view = body["view"]
    meta = json.loads(view.get("private_metadata") or "{}")
    answers = rule_form.answers(view["state"]["values"])
    user_id = caller.account.subject
    reply: Reply
    try:
        async with command_context() as ctx:
            reply = await submit_rule_form(ctx, meta.get("item", ""), answers)
        if isinstance(reply, Notice) and reply.tone is Tone.ERROR:
            await ack(response_action="errors", errors={"everyone": reply.text[:1000]})
            return
    except Exception:
        log.exception("new-rule form failed (user %s)", user_id)
        reply = SOMETHING_WENT_WRONG
    await ack()
    await slack.tell(meta.get("channel"), user_id, reply)
