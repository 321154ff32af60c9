"""Who a Slack user is, from `users.info`: the one place Slack's account flags are read."""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.client import error_code
from handlers.identity import Profile, ProfileLookup
from store.models import Standing

log = logging.getLogger(__name__)


def profile_of(user: dict, installed_team: str) -> Profile:
    """Read Slack's user object. Guests are `is_restricted` (multi-channel) or
    `is_ultra_restricted` (single-channel); people of other organisations in a Slack Connect
    channel are `is_stranger` or belong to another team."""
    profile = user.get("profile") or {}
    if user.get("deleted"):
        standing = Standing.DEACTIVATED
    elif user.get("is_bot") or user.get("is_app_user") or user.get("id") == "USLACKBOT":
        standing = Standing.BOT
    elif user.get("is_stranger") or user.get("team_id", installed_team) != installed_team:
        standing = Standing.EXTERNAL
    elif user.get("is_restricted") or user.get("is_ultra_restricted"):
        standing = Standing.GUEST
    else:
        standing = Standing.MEMBER
    first = profile.get("first_name") or ""
    last = profile.get("last_name") or ""
    if not (first or last):
        first, _, last = (profile.get("real_name") or user.get("real_name") or "").partition(" ")
    return Profile(
        email=profile.get("email") or None, first_name=first, last_name=last, standing=standing
    )


REMEMBER_SECONDS = 30


class Directory:
    """Slack's users.info, asked only when the handler needs it (a person never seen before),
    and once for a person however many of their clicks arrive together."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._asking: dict[tuple[str, str], asyncio.Future[Profile]] = {}

    def lookup(
        self, user_id: str, installed_team: str, home_team: str | None = None
    ) -> ProfileLookup:
        async def run() -> Profile:
            if home_team and home_team != installed_team:
                # Someone from another organisation in a shared channel: nothing to look up.
                return Profile(email=None, standing=Standing.EXTERNAL)
            key = (installed_team, user_id)
            asking = self._asking.get(key)
            if asking is None:
                asking = asyncio.ensure_future(self._ask(user_id, installed_team))
                self._asking[key] = asking
                # Kept a little after it resolves: a second click racing the first one's commit
                # finds no stored identity yet, and should not ask Slack again.
                asking.add_done_callback(lambda done: self._forget(key, done))
            return await asyncio.shield(asking)

        return run

    def _forget(self, key: tuple[str, str], done: asyncio.Future[Profile]) -> None:
        if done.cancelled() or done.exception() is not None:
            self._asking.pop(key, None)  # a failure is not remembered: the next click asks again
        else:
            asyncio.get_running_loop().call_later(REMEMBER_SECONDS, self._asking.pop, key, None)

    async def _ask(self, user_id: str, installed_team: str) -> Profile:
        try:
            response = await self.client.users_info(user=user_id)
        except SlackApiError as exc:
            if error_code(exc) == "user_not_found":
                return Profile(email=None, standing=Standing.EXTERNAL)
            raise
        return profile_of(response["user"], installed_team)
