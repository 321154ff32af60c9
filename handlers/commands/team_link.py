"""group link team: a Teams team's members as a group, kept current by Teams itself.

Sent in any channel of a team, it links that team (its stable id is the team's, whatever it is
called); the adapter then fetches the roster and tells the caller privately how it went. From
then on, people join and leave the group as they join and leave the team (bot.teams.rosters).
Every sentence about linking a team is here.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers import directory
from handlers.commands.context import CommandContext, CommandError
from handlers.commands.groups import count_people
from handlers.commands.registry import Args, Role, command
from handlers.replies import Notice, Tone, echo
from store.models import GroupSource

SEND_IN_TEAM = (
    "Send `enrol group link team` in a channel of the team whose members you want as a group: "
    "I link the team it is sent in, and a chat is not a team."
)
UNNAMED = "Teams team"  # a team whose name Teams did not give
# Posted in the team when someone adds the bot to it.
OFFER = (
    "Thanks for adding me. To use this team's members as a group of people for enrolment, kept "
    "current as people join and leave the team, an enrolment admin sends "
    "`enrol group link team` in any channel of it."
)


@dataclass
class RosterOutcome:
    """What fetching a linked team's members did, for the one who linked it."""

    joined: int = 0
    left: int = 0
    created: int = 0  # people made portal users (the organisation provisions from SSO)
    not_users: int = 0  # members who are not portal users, so not in the group
    guests: int = 0  # guests, other organisations' people, anonymous: never in the group
    partial: bool = False  # some page failed: only additions were made
    stopped: bool = False  # over the removal threshold: nothing changed, admins told
    failed: bool = False  # the members could not be read at all


def first_sync_report(name: str, outcome: RosterOutcome) -> str:
    """What the caller reads privately once the linked team's members were fetched."""
    team = f"The team {echo(name)}"
    if outcome.failed:
        return (
            f"{team}: I couldn't read its members, so nothing changed; the nightly directory "
            "sync tries again, or send `enrol group sync teams` later."
        )
    if outcome.stopped:
        return (
            f"{team}: the sync stopped and changed nothing, as it would have removed too many "
            "people; the admins were told how to go on."
        )
    parts = [
        f"{count_people(outcome.joined)} joined its group and {count_people(outcome.left)} left it"
    ]
    if outcome.created:
        parts.append(f"{count_people(outcome.created)} became portal users")
    if outcome.not_users:
        parts.append(
            f"left out until they are portal users: {count_people(outcome.not_users)} "
            "(`enrolbot users import` or SSO provisioning adds them)"
        )
    if outcome.guests:
        parts.append(f"guests and outside people are never in it: {count_people(outcome.guests)}")
    text = f"{team}: " + "; ".join(parts) + "."
    if outcome.partial:
        text += (
            " I couldn't read all of its members, so no one was taken out; the next sync "
            "tries again."
        )
    return text


@command(
    "group link team",
    "",
    "use the members of the team this is sent in as a group, kept current as they change",
    role=Role.ADMIN,
    doing="manage groups",
    platform="teams",
    elsewhere="send `enrol group link team` to the bot in a channel of the team.",
    examples=("group link team",),
    most=0,
)
async def link_team(ctx: CommandContext, args: Args) -> Notice:
    here = ctx.team
    if here is None:
        raise CommandError(SEND_IN_TEAM)
    org_id = ctx.organisation.id
    linked = {g.source_id for g in await directory.source_groups(ctx.session, org_id, _SOURCE)}
    named = here.name or (await here.name_lookup() if here.name_lookup else None)
    group, again = await directory.link_group(
        ctx.session, org_id, _SOURCE, here.team_id, named or UNNAMED
    )
    await ctx.record("group.linked", group=group.name, source=_SOURCE.value, id=here.team_id)
    here.sync_soon(group.name)
    name = echo(group.name)
    if here.team_id in linked:
        return Notice(
            f"The team {name} is linked already, as the group {name}. I'm fetching its members "
            "again now and will tell you in our chat how it went."
        )
    if again:
        return Notice(
            f"Linked the team {name} again: its group, kept by hand since it was unlinked, "
            "follows the team again. I'm fetching its members now (who isn't in the team any "
            "more leaves the group) and will tell you in our chat how it went.",
            Tone.SUCCESS,
        )
    return Notice(
        f"Linked the team {name} as the group {name}: people join and leave the group as they "
        "join and leave the team. I'm fetching its members now and will tell you in our chat "
        "how it went.",
        Tone.SUCCESS,
    )


_SOURCE = GroupSource.TEAMS_TEAM
