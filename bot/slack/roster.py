"""Who is in Slack, as its Web API pages it: every person (users.list), a user group's members
(usergroups.users.list), a channel's members (conversations.members). The client retries 429s
after their Retry-After (bot.slack.client); a page that still fails ends the fetch there, and
the caller learns the list is incomplete, so nothing is removed on the strength of it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.client import error_code

log = logging.getLogger(__name__)

# Slack's cursor-paginated methods take a limit under 1,000 and may answer fewer.
PAGE_LIMIT = 999
FAILURES = (SlackApiError, aiohttp.ClientError, TimeoutError)


@dataclass
class Fetched:
    """What a fetch got: its items, and whether every page came."""

    items: list[Any] = field(default_factory=list)
    complete: bool = True


async def paged(call: Callable[..., Awaitable[Any]], field_name: str, **args: Any) -> Fetched:
    """Every page of a cursor-paginated method. The first page failing raises (nothing is
    known); a later one ends the list there, marked incomplete."""
    got = Fetched()
    cursor = ""
    while True:
        try:
            response = await call(limit=PAGE_LIMIT, cursor=cursor or None, **args)
        except FAILURES as exc:
            if not got.items and not cursor:
                raise
            log.warning("a page of %s failed (%s); the list is incomplete", field_name, _why(exc))
            got.complete = False
            return got
        got.items.extend(response.get(field_name) or [])
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor:
            return got


def _why(exc: Exception) -> str:
    code = error_code(exc) if isinstance(exc, SlackApiError) else ""
    return code or type(exc).__name__


async def users(client: AsyncWebClient) -> Fetched:
    """Everyone in the workspace, deactivated people included (users.list)."""
    return await paged(client.users_list, "members")


async def channel_members(client: AsyncWebClient, channel: str) -> Fetched:
    """A channel's members' user ids (conversations.members)."""
    return await paged(client.conversations_members, "members", channel=channel)


async def usergroup_members(client: AsyncWebClient, usergroup: str) -> list[str]:
    """A user group's members' user ids (usergroups.users.list: every member at once, which
    usergroups.list's and subteam_updated's lists are not)."""
    response = await client.usergroups_users_list(usergroup=usergroup)
    return list(response.get("users") or [])


async def usergroups(client: AsyncWebClient) -> dict[str, dict]:
    """Every user group, disabled ones too, by id (usergroups.list, without their members)."""
    response = await client.usergroups_list(include_disabled=True)
    return {g["id"]: g for g in response.get("usergroups") or []}
