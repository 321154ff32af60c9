"""Card button presses (Universal Actions invokes), each verb answered with the card the
presser sees in place of the one they pressed.

Anyone may press an Enrol, a reminder's Mute, a summary's Nudge or My learning's Unmute; the
admin verbs are refused to outsiders before they get here (bot.teams.endpoint)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import enrol_imports, invite_imports
from bot.runtime import Runtime
from bot.teams import cards, imports, rule_card
from bot.teams.clicks import Clicks
from bot.teams.my_learning import TeamsMyLearning
from bot.teams.my_learning_card import UNMUTE, my_learning_card
from handlers import commands
from handlers.commands import CommandContext
from handlers.commands.rule_form import submit_rule_form
from handlers.enrol_import_text import AskForImportFile
from handlers.reminders import words
from handlers.reminders.mutes import mute_pressed
from handlers.reminders.team import nudge
from handlers.replies import (
    AskLinkDetails,
    AskRuleDetails,
    ConfirmLinkDelete,
    ConfirmTokenDelete,
    LinkCreated,
    MyLearningReply,
    Notice,
    Reply,
    Tone,
    kept_link,
    kept_token,
)
from store.models import CatalogItem, utcnow

# A card button's answer, from the invoke and the data the button carries.
Verb = Callable[[dict, dict], Awaitable[dict]]
# The command context of whoever sent an activity (bot.teams.endpoint builds it).
ContextOf = Callable[[AsyncSession, dict], Awaitable[CommandContext]]


def render(reply: Reply) -> dict:
    if isinstance(reply, LinkCreated):
        return cards.link_created(reply)
    if isinstance(reply, ConfirmLinkDelete | ConfirmTokenDelete):
        return cards.confirm_delete(reply)
    if isinstance(reply, AskLinkDetails):
        return cards.link_form(reply)
    if isinstance(reply, AskRuleDetails):
        return rule_card.rule_form(reply)
    if isinstance(reply, MyLearningReply):
        return my_learning_card(reply.view)
    if isinstance(reply, Notice):
        return cards.notice(reply)
    if isinstance(reply, AskForImportFile):
        return cards.notice(reply.instead)
    raise TypeError(f"no Teams rendering for {type(reply).__name__}")


class CardActions:
    def __init__(
        self,
        runtime: Runtime,
        context_of: ContextOf,
        clicks: Clicks,
        my_learning: TeamsMyLearning,
        starts: imports.Starts,
    ) -> None:
        self.runtime = runtime
        self.context_of = context_of
        self.starts = starts  # spreadsheet imports running
        self.anyone: dict[str, Verb] = {
            cards.ENROL: lambda activity, data: clicks.enrol(
                activity, _token(data), _registration(data)
            ),
            cards.ENROL_VIEW: lambda activity, data: clicks.view(
                activity, _token(data), _registration(data)
            ),
            words.MUTE_ACTION: self._reminder_mute,
            words.NUDGE_ACTION: self._nudge,
            UNMUTE: my_learning.unmute,
        }
        self.admins: dict[str, Verb] = {
            cards.LINK_CREATE: self._link_create,
            cards.LINK_DELETE: self._link_delete,
            cards.LINK_DELETE_CANCEL: self._link_delete_cancel,
            cards.TOKEN_DELETE: self._token_delete,
            cards.TOKEN_DELETE_CANCEL: self._token_delete_cancel,
            rule_card.RULE_CREATE: self._rule_create,
            imports.START_VERB: self._import_start,
            imports.SEND_VERB: self._invite_send,
        }

    async def _reminder_mute(self, activity: dict, data: dict) -> dict:
        """A reminder's Mute button: muted for whoever pressed it."""
        async with self.runtime.transaction() as session:
            ctx = await self.context_of(session, activity)
            reply = await mute_pressed(session, ctx.caller.user, str(data.get("value", "")))
        return cards.invoke_card(cards.notice(reply))

    async def _nudge(self, activity: dict, data: dict) -> dict:
        """A weekly summary's Nudge: the report reminded (once a day), the manager told."""
        async with self.runtime.transaction() as session:
            ctx = await self.context_of(session, activity)
            reply = await nudge(session, ctx.caller.user, str(data.get("value", "")), utcnow())
        return cards.invoke_card(cards.notice(reply))

    async def _link_delete_cancel(self, activity: dict, data: dict) -> dict:
        return cards.invoke_card(cards.notice(kept_link(str(data.get("link", "?")))))

    async def _link_delete(self, activity: dict, data: dict) -> dict:
        async with self.runtime.transaction() as session:
            ctx = await self.context_of(session, activity)
            reply = await commands.confirm_link_delete(ctx, str(data.get("link", "")))
        return cards.invoke_card(render(reply))

    async def _token_delete_cancel(self, activity: dict, data: dict) -> dict:
        return cards.invoke_card(cards.notice(kept_token(str(data.get("token", "?")))))

    async def _token_delete(self, activity: dict, data: dict) -> dict:
        async with self.runtime.transaction() as session:
            ctx = await self.context_of(session, activity)
            reply = await commands.confirm_token_delete(ctx, str(data.get("token", "")))
        return cards.invoke_card(render(reply))

    async def _link_create(self, activity: dict, data: dict) -> dict:
        item = str(data.get("item", ""))
        label, notes = str(data.get("label") or ""), str(data.get("notes") or "")
        async with self.runtime.transaction() as session:
            ctx = await self.context_of(session, activity)
            result = await commands.submit_link_form(ctx, item, label, notes)
            if isinstance(result, commands.FieldProblem):
                ask = AskLinkDetails(item, await _item_title(session, ctx, item))
                return cards.invoke_card(cards.link_form(ask, label, notes, result.message))
        return cards.invoke_card(render(result))

    async def _rule_create(self, activity: dict, data: dict) -> dict:
        """The new-rule card: the same `rule create` path; a mistake shows on the card."""
        item = str(data.get("item", ""))
        async with self.runtime.transaction() as session:
            ctx = await self.context_of(session, activity)
            reply = await submit_rule_form(ctx, item, data)
            if isinstance(reply, Notice) and reply.tone is Tone.ERROR:
                ask = AskRuleDetails(item, await _item_title(session, ctx, item))
                return cards.invoke_card(rule_card.rule_form(ask, data, reply.text))
        return cards.invoke_card(render(reply))

    async def _import_start(self, activity: dict, data: dict) -> dict:
        async with self.runtime.transaction() as session:
            importer = await enrol_imports.importer_of(await self.context_of(session, activity))
        if importer is None:
            return cards.invoke_card(cards.notice(enrol_imports.NOT_ALLOWED))
        return self.starts.start(activity, importer, str(data.get("import") or ""))

    async def _invite_send(self, activity: dict, data: dict) -> dict:
        async with self.runtime.transaction() as session:
            who = await invite_imports.inviter_of(await self.context_of(session, activity))
        if isinstance(who, invite_imports.Inviter):
            who = await invite_imports.send(self.runtime, who, str(data.get("invite") or ""))
        return cards.invoke_card(cards.notice(who))


async def _item_title(session: AsyncSession, ctx: CommandContext, slug: str) -> str:
    title = await session.scalar(
        select(CatalogItem.title).where(
            CatalogItem.organisation_id == ctx.organisation.id, CatalogItem.slug == slug
        )
    )
    return title or slug


def _token(data: dict) -> str:
    return str(data.get("token") or "")


def _registration(data: dict) -> str | None:
    """A registration button's signed reference to its token (post ITEM --token TOKEN)."""
    return str(data["registration"]) if data.get("registration") else None
