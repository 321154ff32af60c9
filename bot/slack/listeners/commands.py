"""/enrol: every admin command, parsed and carried out by handlers.commands."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import metrics
from bot.slack import blocks, files
from bot.slack.adapter import COMMAND, Slack
from bot.slack.import_blocks import import_form
from bot.slack.middleware import CommandContextOpener
from bot.slack.rule_form import rule_form
from handlers import commands
from handlers.enrol_import_text import AskForImportFile, TemplateReady
from handlers.replies import (
    SOMETHING_WENT_WRONG,
    AskLinkDetails,
    AskRuleDetails,
    EnrolButton,
    ReportReady,
)

log = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    app.command(COMMAND)(enrol_command)


def unescape(text: str) -> str:
    """Slack sends &, < and > that people typed as entities; mentions arrive as real <...>."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


async def enrol_command(
    ack: AsyncAck, body: dict, slack: Slack, command_context: CommandContextOpener
) -> None:
    await ack()  # answer within Slack's 3 seconds; the reply follows on response_url
    text = unescape(body.get("text") or "")
    metrics.COMMANDS.labels("slack", commands.name_of(text)).inc()
    try:
        async with command_context() as ctx:
            reply = await commands.run(ctx, text)
        if isinstance(reply, AskLinkDetails):
            await slack.client.views_open(
                trigger_id=body["trigger_id"], view=blocks.link_form(reply, body["channel_id"])
            )
            return
        if isinstance(reply, AskRuleDetails):
            await slack.client.views_open(
                trigger_id=body["trigger_id"], view=rule_form(reply, body["channel_id"])
            )
            return
        if isinstance(reply, AskForImportFile):
            await slack.client.views_open(
                trigger_id=body["trigger_id"], view=import_form(body["channel_id"], reply.kind)
            )
            return
        if isinstance(reply, TemplateReady):
            reply = await files.share_template(slack.client, reply, body["user_id"])
        if isinstance(reply, EnrolButton):
            reply = await slack.post_button(reply, body["channel_id"], ctx.channel_name)
        if isinstance(reply, ReportReady):
            reply = await files.share_report(slack.client, reply, body["user_id"])
    except Exception:
        log.exception("/enrol failed (user %s, command %r)", body.get("user_id"), text[:40])
        reply = SOMETHING_WENT_WRONG
    await slack.answer(body["response_url"], reply)
