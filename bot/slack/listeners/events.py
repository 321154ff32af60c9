"""Events: a member's profile changed in Slack (email, guest status, deactivation); someone
opened the app's Home tab (bot.slack.home)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack import directory, group_events
from bot.slack.adapter import PROVIDER, Slack
from handlers.identity import Account, profile_changed
from handlers.organisations import default_organisation


def register(app: AsyncApp) -> None:
    app.event("user_change")(user_changed)
    app.event("app_home_opened")(home_opened)


async def home_opened(event: dict, slack: Slack) -> None:
    """Someone opened the app's Home or Messages tab; the Home tab shows My learning afresh.
    Bolt has acknowledged the event already (it is not a request that waits on us)."""
    if event.get("tab") == "home" and isinstance(event.get("user"), str):
        await slack.home.opened(event["user"])


async def user_changed(event: dict, slack: Slack) -> None:
    # Slack retries an event it thinks was lost; recording the same profile twice is a no-op.
    user = event["user"]
    home = await slack.pin.get()
    async with slack.runtime.transaction() as session:
        org = await default_organisation(session)
        await profile_changed(
            session,
            org,
            Account(PROVIDER, home.team_id, user["id"]),
            directory.profile_of(user, home),
            # Slack's user_change often leaves the email out: unsaid is not removed.
            email_told="email" in (user.get("profile") or {}),
        )
        # The directory's side: names, title as function, deactivation (bot.slack.group_events).
        await group_events.person_changed(slack, session, user)
