"""What the bot keeps about Teams conversations and the Enrol cards posted in them.

- Each conversation's service URL, so alerts and notices can reach it later (TeamsConversation).
- For each posted Enrol card, whose own state it shows (TeamsCard.refresh_user_ids): with
  Universal Actions a card refreshes itself for at most 60 listed users, each seeing their
  own state; everyone else sees the Enrol button.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime import Runtime
from bot.teams import cards
from bot.teams.activity import channel_of, tenant_of
from store.models import TeamsCard, TeamsConversation


class Conversations:
    def __init__(self, runtime: Runtime, tenant: str) -> None:
        self.runtime = runtime
        self.tenant = tenant
        self._known: set[tuple[str, str]] = set()

    async def remember(self, activity: dict) -> None:
        """Keep the conversation's service URL (once per process for each URL it gives)."""
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


def card_posted(
    session: AsyncSession, conversation_id: str, activity_id: str, link_id: int
) -> None:
    """An Enrol card now stands in the conversation, showing nobody their own state yet."""
    session.add(
        TeamsCard(
            conversation_id=conversation_id,
            activity_id=activity_id,
            link_id=link_id,
            refresh_user_ids=[],
        )
    )


async def viewers(session: AsyncSession, card_id: str | None) -> list[str]:
    """Who the card shows their own state to."""
    if not card_id:
        return []
    card = await session.scalar(select(TeamsCard).where(TeamsCard.activity_id == card_id))
    return list(card.refresh_user_ids) if card else []


async def show_own_state(session: AsyncSession, card_id: str | None, user: str) -> list[str]:
    """List the user among those the card refreshes for, newest last, at most 60."""
    card = (
        await session.scalar(select(TeamsCard).where(TeamsCard.activity_id == card_id))
        if card_id
        else None
    )
    if card is None:
        return [user]
    users = [u for u in card.refresh_user_ids if u != user] + [user]
    card.refresh_user_ids = users[-cards.REFRESH_USERS_MAX :]
    return card.refresh_user_ids
