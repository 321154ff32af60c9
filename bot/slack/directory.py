"""Who a Slack user is, from `users.info`: the one place Slack's account flags are read."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.client import error_code
from bot.slack.workspace import Workspace
from handlers.directory import PersonRecord
from handlers.identity import Profile, ProfileLookup
from store.models import GroupSource, Standing

# The sources a Slack deactivation is logged under: user_change events and the full sync.
DEACTIVATED_BY_SLACK = ("slack", GroupSource.SLACK_USERGROUP.value, GroupSource.SLACK_CHANNEL.value)

log = logging.getLogger(__name__)


def profile_of(user: dict, home: Workspace) -> Profile:
    """Read Slack's user object. Guests are `is_restricted` (multi-channel) or
    `is_ultra_restricted` (single-channel); people of other organisations in a Slack Connect
    channel are `is_stranger` or belong to a team outside our workspace and its Enterprise
    Grid organisation."""
    profile = user.get("profile") or {}
    team = user.get("team_id", home.team_id)
    enterprise = (user.get("enterprise_user") or {}).get("enterprise_id") or user.get(
        "enterprise_id"
    )
    if user.get("deleted"):
        standing = Standing.DEACTIVATED
    elif user.get("is_bot") or user.get("is_app_user") or user.get("id") == "USLACKBOT":
        standing = Standing.BOT
    elif user.get("is_stranger") or not home.includes(team, enterprise):
        standing = Standing.EXTERNAL
    elif user.get("is_restricted") or user.get("is_ultra_restricted"):
        standing = Standing.GUEST
    else:
        standing = Standing.MEMBER
    named = Profile.named(
        profile.get("email") or None,
        standing,
        profile.get("first_name") or "",
        profile.get("last_name") or "",
        profile.get("real_name") or user.get("real_name") or "",
    )
    # Slack's `tz` is an IANA name (America/New_York): reminders' quiet hours use it.
    return dataclasses.replace(named, time_zone=user.get("tz") or None)


def person_of(user: dict, home: Workspace) -> PersonRecord | None:
    """What the directory keeps of a Slack user: a member of our workspace with an email is a
    person (made if new), their names and title (as their function) set; someone Slack
    deactivated is deactivated, if known by their Slack id, and reactivated when Slack restores
    them (but not someone another source, or an admin, deactivated). Guests, bots and other
    organisations' people are not the directory's; an empty field clears nothing (another
    source, SCIM, may keep it)."""
    subject = user.get("id")
    if not subject:
        return None
    if user.get("deleted"):
        return PersonRecord(subject=subject, active=False)
    profile = profile_of(user, home)
    if profile.standing is not Standing.MEMBER or not profile.email:
        return None
    title = ((user.get("profile") or {}).get("title") or "").strip()
    fields = {"first_name": profile.first_name, "last_name": profile.last_name, "function": title}
    return PersonRecord(
        subject=subject,
        email=profile.email,
        attributes={k: v for k, v in fields.items() if v},
        active=True,
        restores_only_from=DEACTIVATED_BY_SLACK,
    )


REMEMBER_SECONDS = 30


class Directory:
    """Slack's users.info, asked only when the handler needs it (a person never seen before),
    and once for a person however many of their clicks arrive together."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._asking: dict[str, asyncio.Future[Profile]] = {}

    def lookup(
        self, user_id: str, home: Workspace, team_id: str | None, enterprise_id: str | None
    ) -> ProfileLookup:
        """Who a caller of `team_id` (in `enterprise_id`) is, as the request names them."""

        async def run() -> Profile:
            if not home.includes(team_id, enterprise_id):
                # Another organisation's workspace, in a shared channel or signing as another
                # team: nothing of ours to look up.
                return Profile(email=None, standing=Standing.EXTERNAL)
            return await self.profile(user_id, home)

        return run

    async def profile(self, user_id: str, home: Workspace) -> Profile:
        """What Slack says of `user_id`, judged against our workspace."""
        asking = self._asking.get(user_id)
        if asking is None:
            asking = asyncio.ensure_future(self._ask(user_id, home))
            self._asking[user_id] = asking
            # Kept a little after it resolves: a second click racing the first one's commit
            # finds no stored identity yet, and should not ask Slack again.
            asking.add_done_callback(lambda done: self._forget(user_id, done))
        return await asyncio.shield(asking)

    def _forget(self, key: str, done: asyncio.Future[Profile]) -> None:
        if done.cancelled() or done.exception() is not None or _refusing(done.result()):
            # Neither a failure nor a refusal is remembered here: a refusal is stored, and
            # asked about again once it is a minute old (handlers.identity).
            self._asking.pop(key, None)
        else:
            asyncio.get_running_loop().call_later(REMEMBER_SECONDS, self._asking.pop, key, None)

    async def _ask(self, user_id: str, home: Workspace) -> Profile:
        try:
            response = await self.client.users_info(user=user_id)
        except SlackApiError as exc:
            if error_code(exc) == "user_not_found":
                return Profile(email=None, standing=Standing.EXTERNAL)
            raise
        return profile_of(response["user"], home)


def _refusing(profile: Profile) -> bool:
    return profile.standing is not Standing.MEMBER or not profile.email
