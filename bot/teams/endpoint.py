"""POST /api/messages: Teams, through the Bot Framework.

Every request is authenticated before anything else (bot.teams.auth). Messages are admin
commands (`enrol ...`), answered after the HTTP response so Teams is not kept waiting; card
button presses (Universal Actions invokes) are answered in the HTTP response itself with the
card the presser sees.
"""

from __future__ import annotations

import json
import logging
import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot import metrics
from bot.runtime import Runtime
from bot.teams import cards, directory
from bot.teams.activity import channel_of, malformed, sender_account, tenant_of
from bot.teams.auth import AuthError, BotFrameworkAuth, not_from_teams
from bot.teams.connector import Connector
from handlers import audit, commands
from handlers.alerts import channel_destination
from handlers.commands import CommandContext
from handlers.enrol import LINK_OUTCOME, EnrolResult, Outcome, enrol_with_token, state_of
from handlers.identity import Account, Profile, ProfileLookup
from handlers.links import LinkCheck, LinkState, check_token
from handlers.replies import (
    ANONYMOUS,
    NOT_OUR_ORGANISATION,
    POST_HERE_ONLY,
    SOMETHING_WENT_WRONG,
    AskLinkDetails,
    ConfirmLinkDelete,
    EnrolButton,
    LinkCreated,
    Notice,
    Reply,
    click_reply,
    kept_link,
    posted,
)
from store.models import CatalogItem, EnrolmentLink, TeamsCard, TeamsConversation

log = logging.getLogger(__name__)

PROVIDER = "teams"
COMMAND = "enrol"
_LEADING_COMMAND = re.compile(r"^\s*/?enrol\b", re.IGNORECASE)
_AT = re.compile(r"<at>[^<]*</at>")
MENTIONS_MAX = 10
_STATUS = {
    Outcome.ENROLLED: "Enrolled ✓",
    Outcome.ALREADY_ENROLLED: "Enrolled ✓",
    Outcome.ALREADY_COMPLETED: "Completed ✓",
}


def render(reply: Reply) -> dict:
    if isinstance(reply, LinkCreated):
        return cards.link_created(reply)
    if isinstance(reply, ConfirmLinkDelete):
        return cards.confirm_delete(reply)
    if isinstance(reply, AskLinkDetails):
        return cards.link_form(reply)
    if isinstance(reply, Notice):
        return cards.notice(reply)
    raise TypeError(f"no Teams rendering for {type(reply).__name__}")


class TeamsEndpoint:
    def __init__(self, runtime: Runtime, auth: BotFrameworkAuth, connector: Connector) -> None:
        self.runtime = runtime
        self.auth = auth
        self.connector = connector
        self.tenant = runtime.settings.microsoft_app_tenant_id
        self._known: set[tuple[str, str]] = set()

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
            await self._remember(activity)
            kind = activity.get("type")
            if kind == "message":
                return Response(
                    status_code=200, background=BackgroundTask(self._on_message, activity)
                )
            if kind == "invoke" and activity.get("name") == "adaptiveCard/action":
                return JSONResponse(await self._on_action(activity))
        except Exception:
            log.exception("Teams activity failed (%s)", activity.get("type"))
            if activity.get("type") == "invoke":
                return JSONResponse(cards.invoke_card(cards.notice(SOMETHING_WENT_WRONG)))
        return Response(status_code=200)

    # Who and where ----------------------------------------------------------------------------

    async def _remember(self, activity: dict) -> None:
        """Keep each conversation's service URL, so alerts can reach it later."""
        conversation = activity.get("conversation") or {}
        tenant = tenant_of(activity)
        if not conversation.get("id") or tenant != self.tenant:
            return
        where = channel_of(activity)
        key = (where, activity["serviceUrl"])
        if key in self._known:
            return
        kind = conversation.get("conversationType") or "personal"
        user = (activity.get("from") or {}).get("id") if kind == "personal" else None
        async with self.runtime.transaction() as session:
            row = await session.get(TeamsConversation, where)
            if row is None:
                session.add(
                    TeamsConversation(
                        conversation_id=where,
                        tenant_id=tenant,
                        service_url=activity["serviceUrl"],
                        kind=kind,
                        user_id=user,
                    )
                )
            else:
                row.service_url, row.kind, row.user_id = activity["serviceUrl"], kind, user
        self._known.add(key)

    def _refusal(self, activity: dict) -> Notice | None:
        if tenant_of(activity) != self.tenant:
            return NOT_OUR_ORGANISATION
        if not (activity.get("from") or {}).get("aadObjectId"):
            return ANONYMOUS
        return None

    def _account(self, activity: dict) -> Account:
        return Account(PROVIDER, self.tenant, activity["from"]["aadObjectId"])

    async def _context(self, session: AsyncSession, activity: dict) -> CommandContext:
        async def lookup_profile(subject: str) -> Profile:
            return await directory.lookup(self.connector, activity, subject, self.tenant)()

        async def can_post(channel_id: str) -> None:
            return None  # a message reached us there, so the app is installed there

        return await self.runtime.command_context(
            session,
            self._account(activity),
            directory.lookup(self.connector, activity, activity["from"]["id"], self.tenant),
            prefix=COMMAND,
            lookup_profile=lookup_profile,
            channel_id=channel_of(activity),
            channel_name=((activity.get("channelData") or {}).get("channel") or {}).get("name"),
            check_channel=can_post,
            admin_destination=channel_destination(
                PROVIDER, self.tenant, f"dm:{activity['from']['id']}"
            ),
            channels_by_name=False,
            personal=(activity["conversation"].get("conversationType") or "personal") == "personal",
        )

    async def _command_text(self, activity: dict) -> str:
        """The command without the bot's @mention; other mentions become <@objectId>. Each
        person is looked up once, however often they are mentioned, and at most
        MENTIONS_MAX people per message: no command names more."""
        text = activity.get("text") or ""
        bot_id = (activity.get("recipient") or {}).get("id")
        object_ids: dict[str, str | None] = {}
        for entity in activity.get("entities") or []:
            said = entity.get("text")
            if entity.get("type") != "mention" or not isinstance(said, str) or not said:
                continue
            mentioned = entity.get("mentioned")
            who = mentioned.get("id") if isinstance(mentioned, dict) else None
            if not isinstance(who, str):
                continue
            if who == bot_id:
                text = text.replace(said, " ")
                continue
            if who not in object_ids:
                if len(object_ids) >= MENTIONS_MAX:
                    continue
                member = await self.connector.member(
                    activity["serviceUrl"], activity["conversation"]["id"], who
                )
                object_ids[who] = (member or {}).get("objectId") or (member or {}).get(
                    "aadObjectId"
                )
            if object_ids[who]:
                text = text.replace(said, f"<@{object_ids[who]}>")
        text = _AT.sub(" ", text).replace("&nbsp;", " ")
        return _LEADING_COMMAND.sub("", text).strip()

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
        refusal = self._refusal(activity)
        try:
            if refusal is not None:
                await self._audit_refusal(activity, refusal, action="command.refused")
                await self.connector.reply(activity, cards.message(cards.notice(refusal)))
                return
            text = await self._command_text(activity)
            metrics.COMMANDS.labels("teams", commands.name_of(text)).inc()
            async with self.runtime.transaction() as session:
                reply = await commands.run(await self._context(session, activity), text)
            if isinstance(reply, EnrolButton):
                reply = await self._post(activity, reply)
            await self.connector.reply(activity, cards.message(render(reply)))
        except Exception:
            log.exception("Teams command failed (from %s)", (activity.get("from") or {}).get("id"))
            try:
                await self.connector.reply(
                    activity, cards.message(cards.notice(SOMETHING_WENT_WRONG))
                )
            except Exception:
                log.exception("could not tell the user either")

    async def _post(self, activity: dict, button: EnrolButton) -> Notice:
        if button.channel:
            return POST_HERE_ONLY
        where = channel_of(activity)
        activity_id = await self.connector.send(
            activity["serviceUrl"], where, cards.message(cards.enrol_card(button), button.text)
        )
        async with self.runtime.transaction() as session:
            session.add(
                TeamsCard(
                    conversation_id=where,
                    activity_id=activity_id,
                    link_id=button.link_id,
                    refresh_user_ids=[],
                )
            )
            await commands.record_posted(session, button, where)
        return posted(button, "this conversation")

    # Card buttons: Universal Actions ------------------------------------------------------------

    async def _on_action(self, activity: dict) -> dict:
        action = (activity.get("value") or {}).get("action") or {}
        verb, data = action.get("verb"), action.get("data") or {}
        if not isinstance(data, dict):
            data = {}
        if verb in (cards.ENROL, cards.ENROL_VIEW):
            return await self._enrol(activity, verb, str(data.get("token") or ""))
        refusal = self._refusal(activity)
        if refusal is not None:
            await self._audit_refusal(activity, refusal, action="command.refused", verb=verb)
            return cards.invoke_card(cards.notice(refusal))
        if verb == cards.LINK_DELETE_CANCEL:
            return cards.invoke_card(cards.notice(kept_link(str(data.get("link", "?")))))
        async with self.runtime.transaction() as session:
            ctx = await self._context(session, activity)
            if verb == cards.LINK_DELETE:
                reply = await commands.confirm_link_delete(ctx, str(data.get("link", "")))
            elif verb == cards.LINK_CREATE:
                item = str(data.get("item", ""))
                label, notes = str(data.get("label") or ""), str(data.get("notes") or "")
                result = await commands.submit_link_form(ctx, item, label, notes)
                if isinstance(result, commands.FieldProblem):
                    ask = AskLinkDetails(item, await self._item_title(session, ctx, item))
                    return cards.invoke_card(cards.link_form(ask, label, notes, result.message))
                reply = result
            else:
                return cards.invoke_message("That button is not one I know.")
        return cards.invoke_card(render(reply))

    async def _item_title(self, session: AsyncSession, ctx: CommandContext, slug: str) -> str:
        title = await session.scalar(
            select(CatalogItem.title).where(
                CatalogItem.organisation_id == ctx.organisation.id, CatalogItem.slug == slug
            )
        )
        return title or slug

    async def _enrol(self, activity: dict, verb: str, token: str) -> dict:
        # A first-time clicker is looked up with no database connection held.
        lookup = directory.lookup(self.connector, activity, activity["from"]["id"], self.tenant)
        return await self.runtime.with_directory(
            lookup, lambda asked: self._enrol_once(activity, verb, token, asked)
        )

    async def _enrol_once(
        self, activity: dict, verb: str, token: str, asked: ProfileLookup
    ) -> dict:
        runtime = self.runtime
        card_id = activity.get("replyToId")
        async with runtime.transaction() as session:
            org = await runtime.organisation(session)
            check = await check_token(session, runtime.signer, token, org.id)
            button = await self._button(session, check, token)
            refusal = self._refusal(activity)
            if verb == cards.ENROL_VIEW:
                # The card refreshing itself for someone listed: show their own state.
                state = (
                    None
                    if refusal
                    else await state_of(
                        session,
                        signer=runtime.signer,
                        organisation=org,
                        token=token,
                        account=self._account(activity),
                    )
                )
                users = await self._card_users(session, card_id)
                if state is None or button is None:
                    return cards.invoke_card(
                        cards.enrol_card(button, users)
                        if button
                        else cards.notice(click_reply(_link_result(check)))
                    )
                return cards.invoke_card(
                    cards.enrolled_card(button, _STATUS[state.outcome], click_reply(state), users)
                )
            if refusal is not None:
                outsider = refusal is NOT_OUR_ORGANISATION
                await audit.record(
                    session,
                    organisation_id=org.id,
                    action="enrol.external" if outsider else "enrol.anonymous",
                    actor=str(sender_account(activity)),
                    item_id=check.item.id if check.item else None,
                    link_id=check.link_id,
                    channel=channel_of(activity),
                )
                # Someone of another tenant, in a shared channel: the same answer as on Slack.
                reply = (
                    click_reply(EnrolResult(Outcome.EXTERNAL, check.item)) if outsider else refusal
                )
                outcome = None
            else:
                result = await enrol_with_token(
                    session,
                    signer=runtime.signer,
                    organisation=org,
                    token=token,
                    account=self._account(activity),
                    lookup=asked,
                    bootstrap_admins=runtime.settings.admin_emails,
                    channel=channel_of(activity),
                )
                reply, outcome = click_reply(result), result.outcome
                metrics.CLICKS.labels("teams", outcome.value).inc()
            users = await self._card_users(session, card_id)
            if button is None:
                return cards.invoke_card(cards.notice(reply))
            if outcome in _STATUS:
                users = await self._show_own_state(session, card_id, activity["from"]["id"])
                card = cards.enrolled_card(button, _STATUS[outcome], reply, users)
            else:
                card = cards.answered_card(button, reply, users)
        if outcome in _STATUS and card_id:
            await self._refresh_for_everyone(activity, card_id, button, users)
        return cards.invoke_card(card)

    async def _button(
        self, session: AsyncSession, check: LinkCheck, token: str
    ) -> EnrolButton | None:
        if check.item is None or check.link_id is None:
            return None
        link = check.link or await session.get(EnrolmentLink, check.link_id)
        return EnrolButton(
            channel=None,
            channel_name=None,
            link_id=check.link_id,
            token=token,
            title=check.item.title,
            kind=check.item.kind.value,
            url=check.item.url,
            label=link.label if link else None,
        )

    async def _card_users(self, session: AsyncSession, card_id: str | None) -> list[str]:
        if not card_id:
            return []
        card = await session.scalar(select(TeamsCard).where(TeamsCard.activity_id == card_id))
        return list(card.refresh_user_ids) if card else []

    async def _show_own_state(
        self, session: AsyncSession, card_id: str | None, user: str
    ) -> list[str]:
        """List the user among those the card refreshes for, newest last, at most 60."""
        card = await session.scalar(select(TeamsCard).where(TeamsCard.activity_id == card_id))
        if card is None:
            return [user]
        users = [u for u in card.refresh_user_ids if u != user] + [user]
        card.refresh_user_ids = users[-cards.REFRESH_USERS_MAX :]
        return card.refresh_user_ids

    async def _refresh_for_everyone(
        self, activity: dict, card_id: str, button: EnrolButton, users: list[str]
    ) -> None:
        """Update the shared card with the new list, so the user's own state survives a reload
        and their other devices; everyone else keeps the Enrol button."""
        try:
            await self.connector.update(
                activity["serviceUrl"],
                activity["conversation"]["id"],
                card_id,
                cards.message(cards.enrol_card(button, users), button.text),
            )
        except Exception:
            log.warning("could not update the shared Enrol card %s", card_id, exc_info=True)


def _link_result(check: LinkCheck) -> EnrolResult:
    state = check.state if check.state is not LinkState.OK else LinkState.UNKNOWN
    return EnrolResult(LINK_OUTCOME[state], check.item)
