"""What Teams says about a team's members, read into plain values: a roster as the connector
listed it, the members known as portal users, and the shapes of conversationUpdate and
installationUpdate activities (bot.teams.rosters acts on them)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Roster:
    """A team's members as the connector listed them; `complete` False if a page failed."""

    members: list[dict] = field(default_factory=list)
    complete: bool = True


@dataclass
class Known:
    """Members mapped to portal users, and who was left out and why."""

    users: dict[str, int] = field(default_factory=dict)  # aadObjectId -> user id
    created: int = 0
    not_users: int = 0
    guests: int = 0


def uninstalled(activity: dict) -> bool:
    """An installationUpdate saying the app was removed from where it was sent (the team)."""
    return activity.get("type") == "installationUpdate" and activity.get("action") == "remove"


def team_of(activity: dict) -> tuple[str, str | None] | None:
    """(the team's id, its name if given) of an activity sent in a team, or None."""
    team = (activity.get("channelData") or {}).get("team")
    if not isinstance(team, dict) or not isinstance(team.get("id"), str) or not team["id"]:
        return None
    name = team.get("name")
    return team["id"], name if isinstance(name, str) and name.strip() else None


def accounts(value: object) -> list[dict]:
    """membersAdded / membersRemoved, keeping only entries shaped as Teams sends them."""
    if not isinstance(value, list):
        return []
    return [m for m in value if isinstance(m, dict) and isinstance(m.get("id"), str)]


def subject_of(member: dict) -> str | None:
    subject = member.get("aadObjectId") or member.get("objectId")
    return subject if isinstance(subject, str) and subject else None


def all_members(rosters: object) -> list[dict]:
    return [m for roster in rosters for m in roster.members]  # type: ignore[attr-defined]


def known_members(roster: Roster, known: Known) -> list[str]:
    return [s for m in roster.members if (s := subject_of(m)) and s in known.users]
