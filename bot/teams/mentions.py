"""The command a Teams message carries: the text without the bot's @mention, and with other
people's @mentions as <@objectId>, the form handlers.commands reads."""

from __future__ import annotations

import re

from bot.teams.connector import Connector
from handlers.commands import registry

_LEADING_COMMAND = re.compile(r"^\s*/?enrol\b", re.IGNORECASE)
_AT = re.compile(r"<at>[^<]*</at>")
# No command names more people than this; the rest of a flood is not looked up.
MENTIONS_MAX = 10


async def command_text(connector: Connector, activity: dict) -> str:
    """Each mentioned person is looked up once, however often they are mentioned, and at most
    MENTIONS_MAX people per message."""
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
            member = await connector.member(
                activity["serviceUrl"], activity["conversation"]["id"], who
            )
            object_ids[who] = (member or {}).get("objectId") or (member or {}).get("aadObjectId")
        if object_ids[who]:
            text = text.replace(said, f"<@{object_ids[who]}>")
    text = _AT.sub(" ", text).replace("&nbsp;", " ").strip()
    return text if _an_enrol_command(text) else _LEADING_COMMAND.sub("", text).strip()


def _an_enrol_command(text: str) -> bool:
    """Whether the text is itself one of the `enrol ...` commands (`enrol add`), whose word
    enrol is the command's own, not the optional word that starts any command in Teams."""
    found = registry.resolve(text.split())
    return found is not None and found[0].words[0] == "enrol"
