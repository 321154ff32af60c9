"""Which Slack workspace is ours, learned from `auth.test`: requests name a team, and only the
bot token says which team the bot is installed in."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Workspace:
    team_id: str
    enterprise_id: str | None = None  # set when the workspace is part of an Enterprise Grid

    def includes(self, team_id: str | None, enterprise_id: str | None) -> bool:
        """Whether someone of `team_id` is one of ours: a member of our workspace, or of
        another workspace of our Enterprise Grid organisation. Anyone else (another company's
        workspace, a Slack Connect partner) is external."""
        if team_id is not None and team_id == self.team_id:
            return True
        return self.enterprise_id is not None and enterprise_id == self.enterprise_id


class Pin:
    """Our workspace, asked of Slack once at start (or at the first request, if Slack did not
    answer then) and kept for the life of the process."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self.workspace: Workspace | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Workspace:
        if self.workspace is None:
            async with self._lock:
                if self.workspace is None:
                    answer = await self.client.auth_test()
                    self.workspace = Workspace(
                        answer["team_id"], answer.get("enterprise_id") or None
                    )
                    log.info(
                        "Slack workspace %s%s",
                        self.workspace.team_id,
                        f" (Enterprise Grid {self.workspace.enterprise_id})"
                        if self.workspace.enterprise_id
                        else "",
                    )
        return self.workspace

    async def start(self) -> None:
        try:
            await self.get()
        except Exception as exc:  # Slack unreachable at start: the first request asks again
            log.warning("could not ask Slack which workspace is ours yet (%s)", exc)
