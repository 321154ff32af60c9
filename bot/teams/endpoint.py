"""POST /api/messages: Teams, through the Bot Framework.

Every request is authenticated before anything else (bot.teams.auth), and must be shaped as
Teams sends it. Messages are admin commands (`enrol ...`), answered after the HTTP response so
Teams is not kept waiting; card button presses (Universal Actions invokes) are answered in the
HTTP response itself with the card the presser sees, each verb by bot.teams.card_actions.
What the bot keeps about conversations and cards is in bot.teams.conversations; the Enrol
button is bot.teams.clicks.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot import enrol_imports, invite_imports, metrics
from bot.runtime import Runtime
from bot.teams import cards, conversations, directory, imports, reports
from bot.teams.activity import PROVIDER, channel_of, malformed, sender_account
from bot.teams.auth import AuthError, BotFrameworkAuth, not_from_teams
from bot.teams.card_actions import CardActions, render
from bot.teams.clicks import Clicks, refusal_of
from bot.teams.connector import Connector
from bot.teams.conversations import Conversations
from bot.teams.delivery import direct_message
from bot.teams.mentions import command_text
from bot.teams.my_learning import TeamsMyLearning, added_the_bot
from bot.teams.rosters import Rosters
from handlers import audit, commands
from handlers.alerts import channel_destination
from handlers.commands import CommandContext
from handlers.enrol_import_text import TemplateReady
from handlers.identity import Account, Profile
from handlers.replies import (
    NOT_OUR_ORGANISATION,
    SOMETHING_WENT_WRONG,
    EnrolButton,
    MyLearningReply,
    Notice,
    ReportReady,
    posted,
)

log = logging.getLogger(__name__)

COMMAND = "enrol"


class TeamsEndpoint:
    def __init__(self, runtime: Runtime, auth: BotFrameworkAuth, connector: Connector) -> None:
        self.runtime = runtime
        self.auth = auth
        self.connector = connector
        self.tenant = runtime.settings.microsoft_app_tenant_id
        self.conversations = Conversations(runtime, self.tenant)
        self.clicks = Clicks(runtime, connector, self.tenant)
        self.rosters = Rosters(runtime, connector, self.tenant)  # teams' members as groups
        self.imports = imports.Starts(runtime, connector)  # spreadsheet imports running
        self.my_learning = TeamsMyLearning(runtime, connector, self.tenant)
        self.actions = CardActions(
            runtime, self._context, self.clicks, self.my_learning, self.imports
        )

    async def messages(self, request: Request) -> Response:
        try:
            activity = json.loads(await request.body())
        except RecursionError:
            # Nested deeper than any parser goes: a malformed request, not our failure.
            return JSONResponse({"error": "bad request"}, status_code=400)
        except ValueError:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        problem = not_from_teams(activity, self.runtime.settings.teams_service_hosts)
        if problem is not None:
            log.warning("refused a Bot Framework request: %s", problem)
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        try:
            await self.auth.verify(request.headers.get("authorization"), activity)
        except AuthError as exc:
            log.warning("refused a Bot Framework request: %s", exc)
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        problem = malformed(activity)
        if problem is not None:
            log.warning(
                "refused a malformed Teams activity (%s): %s", activity.get("type"), problem
            )
            return JSONResponse({"error": "bad request"}, status_code=400)
        try:
            await self.conversations.remember(activity)
            kind = activity.get("type")
            if kind == "message":
                return Response(
                    status_code=200, background=BackgroundTask(self._on_message, activity)
                )
            if kind == "conversationUpdate" and added_the_bot(activity):
                # The app added to someone's personal scope: the chat opens on My learning.
                return Response(
                    status_code=200, background=BackgroundTask(self.my_learning.welcome, activity)
                )
            if kind in ("conversationUpdate", "installationUpdate"):
                # Members joined or left a team, or the bot did; the app added or removed.
                return Response(
                    status_code=200, background=BackgroundTask(self.rosters.updated, activity)
                )
            if kind == "invoke" and activity.get("name") == reports.CONSENT_INVOKE:
                return Response(
                    status_code=200, background=BackgroundTask(self._on_file_consent, activity)
                )
            if kind == "invoke" and activity.get("name") == "adaptiveCard/action":
                return JSONResponse(await self._on_action(activity))
        except Exception:
            log.exception("Teams activity failed (%s)", activity.get("type"))
            if activity.get("type") == "invoke":
                return JSONResponse(cards.invoke_card(cards.notice(SOMETHING_WENT_WRONG)))
        return Response(status_code=200)

    # Who is asking ------------------------------------------------------------------------------

    def _account(self, activity: dict) -> Account:
        return Account(PROVIDER, self.tenant, activity["from"]["aadObjectId"])

    async def _context(self, session: AsyncSession, activity: dict) -> CommandContext:
        async def lookup_profile(subject: str) -> Profile:
            return await directory.lookup(self.connector, activity, subject, self.tenant)()

        async def can_post(channel_id: str) -> None:
            return None  # a message reached us there, so the app is installed there

        private = channel_destination(PROVIDER, self.tenant, direct_message(activity["from"]["id"]))
        return await self.runtime.command_context(
            session,
            self._account(activity),
            directory.lookup(self.connector, activity, activity["from"]["id"], self.tenant),
            prefix=COMMAND,
            lookup_profile=lookup_profile,
            channel_id=channel_of(activity),
            channel_name=((activity.get("channelData") or {}).get("channel") or {}).get("name"),
            check_channel=can_post,
            admin_destination=private,
            team=self.rosters.here(activity, private),
            channels_by_name=False,
            personal=(activity["conversation"].get("conversationType") or "personal") == "personal",
        )

    async def _audit_refusal(self, activity: dict, refusal: Notice, **what: object) -> None:
        """Someone of another tenant, or anonymous, was turned away: recorded as Slack records
        its outsiders, with the account as Teams named it."""
        outsider = refusal is NOT_OUR_ORGANISATION
        async with self.runtime.transaction() as session:
            org = await self.runtime.organisation(session)
            await audit.record(
                session,
                organisation_id=org.id,
                actor=str(sender_account(activity)),
                reason="external" if outsider else "anonymous",
                **what,  # type: ignore[arg-type]
            )

    # Messages: admin commands -------------------------------------------------------------------

    async def _on_message(self, activity: dict) -> None:
        refusal = refusal_of(activity, self.tenant)
        try:
            if refusal is not None:
                await self._audit_refusal(activity, refusal, action="command.refused")
                await self.connector.reply(activity, cards.message(cards.notice(refusal)))
                return
            if imports.sent_file(activity) is not None:
                await self._on_file(activity)
                return
            text = await command_text(self.connector, activity)
            metrics.COMMANDS.labels("teams", commands.name_of(text)).inc()
            async with self.runtime.transaction() as session:
                reply = await commands.run(await self._context(session, activity), text)
            if isinstance(reply, EnrolButton):
                reply = await self._post(activity, reply)
            if isinstance(reply, ReportReady):
                message = await reports.answer(
                    self.runtime, self.connector, activity, reply, self.tenant
                )
            elif isinstance(reply, TemplateReady):
                message = imports.template_message(reply, _personal(activity))
            elif isinstance(reply, MyLearningReply):
                message = await self.my_learning.privately(activity, reply)
            else:
                message = cards.message(render(reply))
            await self.connector.reply(activity, message)
            self.rosters.after_answer(activity)  # group link team's first sync
        except Exception:
            self.rosters.after_answer(activity, start=False)
            log.exception("Teams command failed (from %s)", activity["from"]["id"])
            try:
                await self.connector.reply(
                    activity, cards.message(cards.notice(SOMETHING_WENT_WRONG))
                )
            except Exception:
                log.exception("could not tell the user either")

    async def _on_file(self, activity: dict) -> None:
        """A file sent to the bot: in the personal chat, a spreadsheet to preview (enrolments,
        or invitations: bot.teams.imports tells which)."""
        if not _personal(activity):
            await self.connector.reply(activity, cards.message(cards.notice(imports.PERSONAL_ONLY)))
            return
        async with self.runtime.transaction() as session:
            ctx = await self._context(session, activity)
            importer = await enrol_imports.importer_of(ctx)
            inviter = await invite_imports.inviter_of(ctx)
        card = await imports.preview_sent_file(
            self.runtime, self.connector, activity, importer, inviter
        )
        await self.connector.reply(activity, cards.message(card))

    async def _on_file_consent(self, activity: dict) -> None:
        """A report's file consent card was answered (bot.teams.reports)."""
        refusal = refusal_of(activity, self.tenant)
        try:
            if refusal is not None:
                await self._audit_refusal(activity, refusal, action="command.refused")
                return
            await reports.file_consent(self.runtime, self.connector, activity)
        except Exception:
            log.exception("a report's file consent failed (from %s)", activity["from"]["id"])

    async def _post(self, activity: dict, button: EnrolButton) -> Notice:
        where = channel_of(activity)
        offer = cards.Offer(button.token, button.title, button.kind, button.registration)
        activity_id = await self.connector.send(
            activity["serviceUrl"], where, cards.message(cards.enrol_card(offer), offer.summary)
        )
        async with self.runtime.transaction() as session:
            conversations.card_posted(session, where, activity_id, button.link_id)
            await commands.record_posted(session, button, where)
        return posted(button, "this conversation")

    # Card buttons: Universal Actions ------------------------------------------------------------

    async def _on_action(self, activity: dict) -> dict:
        action = (activity.get("value") or {}).get("action")
        action = action if isinstance(action, dict) else {}
        verb, data = action.get("verb"), action.get("data")
        data = data if isinstance(data, dict) else {}
        if isinstance(verb, str) and verb in self.actions.anyone:
            return await self.actions.anyone[verb](activity, data)
        if not isinstance(verb, str) or verb not in self.actions.admins:
            return cards.invoke_message("That button is not one I know.")
        refusal = refusal_of(activity, self.tenant)
        if refusal is not None:
            await self._audit_refusal(activity, refusal, action="command.refused", verb=verb)
            return cards.invoke_card(cards.notice(refusal))
        return await self.actions.admins[verb](activity, data)


def _personal(activity: dict) -> bool:
    return (activity["conversation"].get("conversationType") or "personal") == "personal"
