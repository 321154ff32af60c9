"""Reading a Teams activity: is it shaped as Teams sends it, where it came from, who sent it.
Pure functions over the activity's JSON; nothing here talks to the network or the database."""

from __future__ import annotations

from handlers.identity import Account

PROVIDER = "teams"

# Fields the bot reads, and the JSON type each must have when present. Anything else is a
# request no Teams client sent: it is refused with 400 rather than met with a traceback.
_OBJECTS = ("conversation", "from", "recipient", "channelData", "value")
_STRINGS = ("id", "type", "name", "text", "replyToId")
_NESTED_STRINGS = (
    ("from", "aadObjectId"),
    ("recipient", "id"),
    ("conversation", "conversationType"),
    ("conversation", "tenantId"),
)
_CHANNEL_DATA_STRINGS = (("tenant", "id"), ("channel", "id"), ("channel", "name"))


def malformed(activity: dict) -> str | None:
    """What is wrong with an authenticated activity's shape, or None."""
    for name in _OBJECTS:
        if name in activity and not isinstance(activity[name], dict | None):
            return f"{name} is not an object"
    for name in _STRINGS:
        if name in activity and not isinstance(activity[name], str | None):
            return f"{name} is not a string"
    if activity.get("type") not in ("message", "invoke"):
        return None  # conversation updates and the like: acknowledged, not read
    for name in ("conversation", "from"):
        if not isinstance((activity.get(name) or {}).get("id"), str):
            return f"no {name}.id"
    for outer, name in _NESTED_STRINGS:
        if not isinstance((activity.get(outer) or {}).get(name), str | None):
            return f"{outer}.{name} is not a string"
    data = activity.get("channelData") or {}
    for name in ("tenant", "channel", "team"):
        if not isinstance(data.get(name), dict | None):
            return f"channelData.{name} is not an object"
    for outer, name in _CHANNEL_DATA_STRINGS:
        if not isinstance((data.get(outer) or {}).get(name), str | None):
            return f"channelData.{outer}.{name} is not a string"
    entities = activity.get("entities")
    if entities is not None and not (
        isinstance(entities, list) and all(isinstance(e, dict) for e in entities)
    ):
        return "entities is not a list of objects"
    return None


def tenant_of(activity: dict) -> str | None:
    data = activity.get("channelData") or {}
    conversation = activity.get("conversation") or {}
    tenant = (data.get("tenant") or {}).get("id") or conversation.get("tenantId")
    return tenant if isinstance(tenant, str) else None


def channel_of(activity: dict) -> str:
    """Where a new top-level message in this conversation goes: the channel itself, not the
    thread the command was typed in."""
    channel = ((activity.get("channelData") or {}).get("channel") or {}).get("id")
    return channel if isinstance(channel, str) else activity["conversation"]["id"].split(";", 1)[0]


def sender_account(activity: dict) -> Account:
    """Who sent it, as an account keyed by their own tenant: an outsider's ids never stand for
    someone of ours. Anonymous participants have no Entra object id; their Teams id stands."""
    sender = activity["from"]
    subject = sender.get("aadObjectId") or sender["id"]
    return Account(PROVIDER, tenant_of(activity) or "?", str(subject))
