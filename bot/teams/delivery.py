"""Sending outbox batches to Teams channels and chats as Adaptive Cards, with the connector's
429 and Retry-After honoured by the outbox's rescheduling. Every connector call has its own
timeout (bot.teams.connector), and the outbox bounds the whole send, token and lookups included.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.teams import cards
from bot.teams.alert_cards import alert_card
from bot.teams.connector import Connector, ConnectorError
from bot.teams.learner_cards import learner_card
from bot.teams.reminder_cards import reminder_card, summary_card
from handlers.alert_message import compose
from handlers.outbox import Batch, Result, SendOutcome
from handlers.reminders.words import REMINDER, SUMMARY, compose_summary
from handlers.reminders.words import compose as compose_reminders
from handlers.rules.telling import LEARNER
from handlers.rules.telling import compose as compose_learner
from store.models import TeamsConversation

MAX_BATCH = 100  # facts per card, within a Teams message's size
RETRY_STATUSES = {0, 408, 412, 429, 500, 502, 503, 504}
# The connector refused this activity as malformed or too large; the conversation is fine.
BAD_MESSAGE_STATUSES = {400, 413}
# A destination's target that names a person, reached in their direct messages with the bot.
_DM = "dm:"


def direct_message(user_id: str) -> str:
    """The destination target of a person's direct messages with the bot."""
    return _DM + user_id


class TeamsDelivery:
    def __init__(self, connector: Connector, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.connector = connector
        self.sessions = sessions

    async def _where(self, tenant: str, target: str) -> tuple[str, str] | None:
        """(service URL, conversation id) for a channel or chat, or a person's DM ("dm:29:...")."""
        async with self.sessions() as session:
            if target.startswith(_DM):
                user = target.removeprefix(_DM)
                row = await session.scalar(
                    select(TeamsConversation).where(TeamsConversation.user_id == user)
                )
                if row is not None:
                    return row.service_url, row.conversation_id
                any_row = await session.scalar(
                    select(TeamsConversation)
                    .where(TeamsConversation.tenant_id == tenant)
                    .order_by(TeamsConversation.updated_at.desc())
                    .limit(1)
                )
                if any_row is None:
                    return None
                conversation = await self.connector.personal_conversation(
                    any_row.service_url, tenant, user
                )
                return any_row.service_url, conversation
            row = await session.get(TeamsConversation, target)
            return (row.service_url, row.conversation_id) if row else None

    async def send(self, batch: Batch) -> SendOutcome:
        to = batch.to
        if batch.kind == LEARNER:
            learner = compose_learner(batch.payloads, batch.total_due)
            content, summary = learner_card(learner), learner.summary()
        elif batch.kind == REMINDER:
            reminders = compose_reminders(batch.payloads, batch.total_due)
            content, summary = reminder_card(reminders), reminders.summary()
        elif batch.kind == SUMMARY:
            team = compose_summary(batch.payloads)
            content, summary = summary_card(team), team.heading
        else:
            content = alert_card(compose(batch.kind, batch.payloads, batch.total_due))
            summary = "Self-enrolments"
        try:
            where = await self._where(to.tenant, to.target)
            if where is None:
                return SendOutcome(Result.FAILED, "no Teams conversation known for it")
            await self.connector.send(where[0], where[1], cards.message(content, summary))
        except ConnectorError as exc:
            if exc.status in RETRY_STATUSES:
                return SendOutcome(Result.RETRY, str(exc)[:200], exc.retry_after)
            if exc.status in BAD_MESSAGE_STATUSES:
                return SendOutcome(Result.REJECTED, f"Teams answered {exc.status}")
            return SendOutcome(Result.FAILED, f"Teams answered {exc.status}")
        return SendOutcome.sent()
