"""The new-link modal: validated on submit, errors shown on the field that needs fixing."""

from __future__ import annotations

import json
import logging

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from bot.slack import blocks
from bot.slack.adapter import Slack
from handlers import commands
from handlers.replies import SOMETHING_WENT_WRONG, Reply

log = logging.getLogger(__name__)


def register(app: AsyncApp, slack: Slack) -> None:
    @app.view(blocks.LINK_FORM)
    async def link_form_submitted(ack: AsyncAck, body: dict, context: AsyncBoltContext) -> None:
        view = body["view"]
        meta = json.loads(view.get("private_metadata") or "{}")
        values = view["state"]["values"]
        label = (values["label"]["value"].get("value") or "").strip()
        notes = (values["notes"]["value"].get("value") or "").strip()
        user = body["user"]
        reply: Reply
        try:
            async with slack.runtime.transaction() as session:
                ctx = await slack.command_context(
                    session, context.team_id, user["id"], user.get("team_id")
                )
                result = await commands.submit_link_form(ctx, meta.get("item", ""), label, notes)
            if isinstance(result, commands.FieldProblem):
                await ack(response_action="errors", errors={result.field: result.message})
                return
            reply = result
        except Exception:
            log.exception("new-link form failed (user %s)", user["id"])
            reply = SOMETHING_WENT_WRONG
        await ack()
        await slack.tell(meta.get("channel"), user["id"], reply)
