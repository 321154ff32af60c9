"""What a platform tells `group link` about the group it names (a Slack user group or
channel, a Teams team), without the handler knowing the platform: the adapter finds it and
starts its first sync; the handler links it and words the answer."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from store.models import GroupSource


class LinkProblem(enum.Enum):
    NOT_FOUND = "not_found"  # no such user group or channel
    PAID_PLAN = "paid_plan"  # the workspace's plan has no user groups
    NOT_IN_CHANNEL = "not_in_channel"  # the bot is not a member: it would hear no changes
    ARCHIVED = "archived"
    DISABLED = "disabled"  # a user group switched off in Slack


@dataclass(frozen=True)
class LinkTarget:
    """The group a platform found: its source, stable id, name, and how people call it
    there (`@design`, `#ops`)."""

    source: GroupSource
    source_id: str
    name: str
    called: str


class GroupLinker(Protocol):
    """The platform's side of `group link`."""

    async def find(self, source: GroupSource, word: str) -> LinkTarget | LinkProblem:
        """The group that `word` names (as typed or as the platform sent a pick)."""
        ...

    def sync_soon(self, target: LinkTarget) -> None:
        """Fetch the group's members once the command is answered, and tell the caller
        privately how it went."""
        ...
