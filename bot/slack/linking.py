"""`group link usergroup` and `group link channel` on Slack: find what the admin named (a pick
arrives as <!subteam^S123|@handle> or <#C123|name>), and start the group's first sync once the
command is answered."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from bot.slack import roster
from bot.slack.client import error_code
from handlers.commands.linking import LinkProblem, LinkTarget
from handlers.commands.parsing import CHANNEL
from store.models import GroupSource

if TYPE_CHECKING:
    from bot.slack.directory_source import SlackDirectory

SUBTEAM = re.compile(r"^<!subteam\^([A-Z0-9]+)(?:\|@?([^>]*))?>$")
_RUNNING: set[asyncio.Task] = set()  # first syncs, kept until they end


class SlackLinker:
    """The Slack side of `group link` for one caller, whose DM hears how the first sync went."""

    def __init__(self, directory: SlackDirectory, tell: str | None) -> None:
        self.directory = directory
        self.tell = tell

    async def find(self, source: GroupSource, word: str) -> LinkTarget | LinkProblem:
        if source is GroupSource.SLACK_USERGROUP:
            return await self._usergroup(word)
        return await self._channel(word)

    def sync_soon(self, target: LinkTarget) -> None:
        task = asyncio.create_task(self.directory.first_sync(target, self.tell))
        _RUNNING.add(task)
        task.add_done_callback(_RUNNING.discard)

    async def _usergroup(self, word: str) -> LinkTarget | LinkProblem:
        picked = SUBTEAM.match(word)
        wanted_id = picked.group(1) if picked else None
        handle = (picked.group(2) if picked else word.lstrip("@")) or ""
        try:
            groups = await roster.usergroups(self.directory.slack.client)
        except SlackApiError as exc:
            if error_code(exc) in ("plan_upgrade_required", "paid_teams_only"):
                return LinkProblem.PAID_PLAN
            raise
        for group in groups.values():
            if group["id"] == wanted_id or (
                wanted_id is None and (group.get("handle") or "").lower() == handle.lower()
            ):
                if group.get("date_delete"):
                    return LinkProblem.DISABLED
                handle = group.get("handle") or handle
                return LinkTarget(
                    GroupSource.SLACK_USERGROUP,
                    group["id"],
                    group.get("name") or handle,
                    f"@{handle}",
                )
        return LinkProblem.NOT_FOUND

    async def _channel(self, word: str) -> LinkTarget | LinkProblem:
        picked = CHANNEL.match(word)
        if picked is None or picked.group(1) is None:
            # Slack sends a real channel as <#C123|name> (should_escape): a bare name is not one.
            return LinkProblem.NOT_FOUND
        channel = picked.group(1)
        try:
            info = (await self.directory.slack.client.conversations_info(channel=channel))[
                "channel"
            ]
        except SlackApiError as exc:
            if error_code(exc) in ("channel_not_found", "not_in_channel"):
                # A channel someone could pick but the bot cannot see: a private one without it.
                return LinkProblem.NOT_IN_CHANNEL
            raise
        if info.get("is_archived"):
            return LinkProblem.ARCHIVED
        if not info.get("is_member"):
            return LinkProblem.NOT_IN_CHANNEL
        name = info.get("name") or picked.group(2) or channel
        return LinkTarget(GroupSource.SLACK_CHANNEL, channel, name, f"#{name}")
