"""My learning in Teams: the personal chat opens on it (the app added for a person: a
conversationUpdate naming the bot among membersAdded, in a personal conversation), `my learning`
answers with it, privately (typed in a channel, the card goes to the person's personal chat),
and its Unmute buttons answer with the card again. The card is bot.teams.my_learning_card's;
the data handlers.my_learning's, read through bot.my_learning as a click reads a person."""

from __future__ import annotations

import logging

from bot import my_learning
from bot.runtime import Runtime
from bot.teams import cards, directory
from bot.teams.activity import PROVIDER
from bot.teams.clicks import refusal_of
from bot.teams.connector import Connector, ConnectorError
from bot.teams.my_learning_card import my_learning_card, summary
from handlers import my_learning_words as words
from handlers.identity import Account, ProfileLookup
from handlers.my_learning import MyLearning
from handlers.replies import MyLearningReply, Notice, Tone

log = logging.getLogger(__name__)


def is_personal(activity: dict) -> bool:
    return (activity["conversation"].get("conversationType") or "personal") == "personal"


def added_the_bot(activity: dict) -> bool:
    """A conversationUpdate saying the bot joined a person's personal chat (the app added)."""
    bot = (activity.get("recipient") or {}).get("id")
    added = activity.get("membersAdded") or []
    return is_personal(activity) and any(isinstance(m, dict) and m.get("id") == bot for m in added)


def _message(view: MyLearning | None, notice: str | None = None) -> dict:
    if view is None:
        return cards.message(cards.notice(Notice(words.NOT_KNOWN)))
    return cards.message(my_learning_card(view, notice), summary(view))


class TeamsMyLearning:
    def __init__(self, runtime: Runtime, connector: Connector, tenant: str) -> None:
        self.runtime = runtime
        self.connector = connector
        self.tenant = tenant

    def _who(self, activity: dict) -> tuple[Account, ProfileLookup]:
        account = Account(PROVIDER, self.tenant, activity["from"]["aadObjectId"])
        lookup = directory.lookup(self.connector, activity, activity["from"]["id"], self.tenant)
        return account, lookup

    async def _view(self, activity: dict) -> MyLearning | None:
        return await my_learning.view_of(self.runtime, *self._who(activity))

    async def welcome(self, activity: dict) -> None:
        """The app added to someone's personal scope: their chat opens on My learning."""
        if refusal_of(activity, self.tenant) is not None:
            return
        try:
            message = _message(await self._view(activity))
            await self.connector.send(
                activity["serviceUrl"], activity["conversation"]["id"], message
            )
        except Exception:
            log.exception("My learning could not welcome a personal chat")

    async def privately(self, activity: dict, reply: MyLearningReply) -> dict:
        """`my learning`'s answer: the card in a personal chat; in a channel, the card goes to
        the person's personal chat and the channel hears only where."""
        message = _message(reply.view)
        if is_personal(activity):
            return message
        service_url = activity["serviceUrl"]
        try:
            chat = await self.connector.personal_conversation(
                service_url, self.tenant, activity["from"]["id"]
            )
            await self.connector.send(service_url, chat, message)
        except ConnectorError as exc:
            log.warning("could not send My learning to a personal chat (%s)", exc.status)
            return cards.message(cards.notice(Notice(words.SENT_NOWHERE, Tone.ERROR)))
        return cards.message(cards.notice(Notice(words.SENT_PRIVATELY)))

    async def unmute(self, activity: dict, data: dict) -> dict:
        """The card's Unmute button: reminders on again; the card, refreshed, says so."""
        said = await my_learning.unmute(self.runtime, *self._who(activity), data.get("item", ""))
        view = await self._view(activity)
        content = _message(view, said)["attachments"][0]["content"]
        return cards.invoke_card(content)
