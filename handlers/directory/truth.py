"""One source of truth per group: a group fed by SCIM, Slack or Teams changes only through it."""

from __future__ import annotations

from store.models import EXTERNAL_SOURCES, Group, GroupSource

_WHERE = {
    GroupSource.SCIM: "your identity provider (Entra ID or Okta provisioning)",
    GroupSource.SLACK_USERGROUP: "its Slack user group",
    GroupSource.SLACK_CHANNEL: "its Slack channel (people join or leave the channel)",
    GroupSource.TEAMS_TEAM: "its Microsoft Teams team (people are added to or removed from it)",
}


class OwnedElsewhere(Exception):
    """A change to a group that another source keeps; the message says where to make it."""


def where_kept(group: Group) -> str | None:
    """Where a group's members are changed, if not here."""
    return _WHERE.get(group.source) if group.source in EXTERNAL_SOURCES else None


def check_changeable(group: Group, via: str) -> None:
    """Raise OwnedElsewhere unless `via` (a GroupSource value) may change `group`'s members."""
    if group.source in EXTERNAL_SOURCES and via != group.source.value:
        raise OwnedElsewhere(
            f"{group.name} is kept by {_WHERE[group.source]}: change its members there, and "
            "enrolbot follows within a minute (or at the next `group sync`)."
        )
