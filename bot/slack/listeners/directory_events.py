"""Events: Slack's user groups and channels linked as groups, and new people (team_join). Bolt
acknowledges events before these run, so a slower fetch never delays Slack's answer."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack import group_events
from bot.slack.adapter import Slack
from store.models import GroupSource


def register(app: AsyncApp) -> None:
    app.event("subteam_created")(subteam_changed)
    app.event("subteam_updated")(subteam_changed)
    app.event("subteam_members_changed")(subteam_members_changed)
    app.event("member_joined_channel")(member_joined_channel)
    app.event("member_left_channel")(member_left_channel)
    app.event("team_join")(team_joined)


async def subteam_changed(event: dict, slack: Slack) -> None:
    await group_events.subteam_changed(slack, event.get("subteam") or {})


async def subteam_members_changed(event: dict, slack: Slack) -> None:
    await group_events.members_changed(
        slack,
        GroupSource.SLACK_USERGROUP,
        event.get("subteam_id", ""),
        added=list(event.get("added_users") or []),
        removed=list(event.get("removed_users") or []),
    )


async def member_joined_channel(event: dict, slack: Slack) -> None:
    await group_events.members_changed(
        slack, GroupSource.SLACK_CHANNEL, event.get("channel", ""), added=[event["user"]]
    )


async def member_left_channel(event: dict, slack: Slack) -> None:
    await group_events.members_changed(
        slack, GroupSource.SLACK_CHANNEL, event.get("channel", ""), removed=[event["user"]]
    )


async def team_joined(event: dict, slack: Slack) -> None:
    async with slack.runtime.transaction() as session:
        await group_events.person_changed(slack, session, event["user"])
