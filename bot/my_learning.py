"""My learning for a platform account: the person identified as a click identifies them (the
platform's directory asked only about someone new, with no connection held), and their
handlers.my_learning view read in one short transaction. The Slack Home tab and the Teams
personal chat both come here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import my_learning as my_learning_mutes
from handlers import my_learning_words as words
from handlers.identity import Account, ProfileLookup, identify
from handlers.my_learning import UNMUTE_ALL, MyLearning, my_learning
from store.models import CatalogItem, utcnow

if TYPE_CHECKING:
    from bot.runtime import Runtime


async def view_of(
    runtime: Runtime, account: Account, lookup: ProfileLookup, *, home_opened: bool = False
) -> MyLearning | None:
    """The account's My learning; None for someone who is not one of our learners (a guest,
    someone unknown, deactivated). `home_opened` notes that they opened Slack's Home tab, so
    changes to theirs are republished (bot.slack.home)."""

    async def attempt(asked: ProfileLookup) -> MyLearning | None:
        async def work(session: AsyncSession) -> MyLearning | None:
            person = await identify(
                session,
                await runtime.organisation(session),
                account,
                asked,
                bootstrap_admins=runtime.settings.admin_emails,
            )
            if home_opened:
                person.identity.home_opened_at = utcnow()
            if person.user is None or person.refusal is not None:
                return None
            return await my_learning(
                session,
                person.user,
                signer=runtime.signer,
                public_url=runtime.settings.public_url,
            )

        return await runtime.transact(work)

    return await runtime.with_directory(lookup, attempt)


async def unmute(runtime: Runtime, account: Account, lookup: ProfileLookup, item: str | int) -> str:
    """The Unmute button of My learning: one item's reminders on again, or ("all") every
    reminder; the sentence to show above the list."""
    everything = str(item) == UNMUTE_ALL
    item_id = None if everything else _number(item)
    if not everything and item_id is None:
        return words.MUTE_PROBLEM

    async def attempt(asked: ProfileLookup) -> str:
        async def work(session: AsyncSession) -> str:
            person = await identify(
                session,
                await runtime.organisation(session),
                account,
                asked,
                bootstrap_admins=runtime.settings.admin_emails,
            )
            if person.user is None or person.refusal is not None:
                return words.NOT_KNOWN
            if not await my_learning_mutes.unmute(session, person.user.id, item_id):
                return words.NOT_MUTED
            if item_id is None:
                return words.UNMUTED_ALL
            title = await session.scalar(select(CatalogItem.title).where(CatalogItem.id == item_id))
            return words.UNMUTED.format(title=title or "that item")

        return await runtime.transact(work)

    return await runtime.with_directory(lookup, attempt)


def _number(value: str | int) -> int | None:
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None
