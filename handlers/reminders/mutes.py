"""A reminder's Mute buttons: reminders of one item, or of everything, muted for the person who
pressed, once however often they press (the mute table's unique indexes)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.my_learning import mute
from handlers.reminders import words
from handlers.replies import Notice, Tone
from store.models import CatalogItem, User

NOT_KNOWN = "I could not tell who you are, so nothing was muted. Try again from your reminder."
NOT_A_BUTTON = "That button is not one I know."


async def mute_pressed(session: AsyncSession, user: User | None, value: str) -> Notice:
    """Mute what a button's `value` names for `user`; the sentence they read."""
    try:
        item_id = words.muted_item(value)
    except ValueError:
        return Notice(NOT_A_BUTTON, Tone.ERROR)
    if user is None:
        return Notice(NOT_KNOWN, Tone.ERROR)
    title = None
    if item_id is not None:
        item = await session.get(CatalogItem, item_id)
        if item is None or item.organisation_id != user.organisation_id:
            return Notice(NOT_A_BUTTON, Tone.ERROR)
        title = item.title
    await mute(session, user.id, item_id)  # My learning's mute: its Home tab shows it
    return Notice(words.muted(title), Tone.SUCCESS)
