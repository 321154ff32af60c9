"""Slack's directory events, each one transaction of handlers.directory: a linked user group's
members (subteam_created, subteam_updated, subteam_members_changed), a linked channel's
(member_joined_channel, member_left_channel), and people (team_join, user_change).

Someone who joins a linked group before the directory knows them is looked up with users.info
(a few at a time, before the transaction opens); the rest wait for the nightly full sync."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from bot.slack import roster
from bot.slack.directory import person_of
from handlers import directory
from handlers.directory import Origin, PersonRecord
from handlers.organisations import default_organisation
from store.models import Group, GroupSource

if TYPE_CHECKING:
    from bot.slack.adapter import Slack

log = logging.getLogger(__name__)

CUT = 500  # subteam_updated's users list is cut at 500 (its user_count is not)
LOOKUPS = 20  # users.info calls one event may make for people not known yet
PEOPLE = Origin("slack")  # people's attributes and status, from team_join and user_change


async def _linked(
    session, organisation_id: int, source: GroupSource, source_id: str
) -> Group | None:
    groups = await directory.source_groups(session, organisation_id, source)
    return next((g for g in groups if g.source_id == source_id), None)


async def _newcomers(slack: Slack, organisation_id: int, subjects: list[str]) -> list[PersonRecord]:
    """What users.info says of people the directory does not know yet (a few)."""
    key = await slack.people.key()
    async with slack.runtime.transaction() as session:
        known = await directory.users_by_subject(session, key, subjects)
    home = await slack.pin.get()
    found = []
    for subject in [s for s in subjects if s not in known][:LOOKUPS]:
        try:
            user = (await slack.client.users_info(user=subject))["user"]
        except roster.FAILURES as exc:
            log.info("users.info %s failed (%s); the full sync adds them", subject, exc)
            continue
        if (record := person_of(user, home)) is not None:
            found.append(record)
    return await slack.people.allowed(organisation_id, found)


async def members_changed(
    slack: Slack,
    source: GroupSource,
    source_id: str,
    *,
    added: list[str] = (),  # type: ignore[assignment]
    removed: list[str] = (),  # type: ignore[assignment]
    everyone: list[str] | None = None,
    name: str | None = None,
) -> None:
    """Apply a linked group's change: a delta (added, removed) or its whole list (everyone)."""
    async with slack.runtime.transaction() as session:
        org = await default_organisation(session)
        if await _linked(session, org.id, source, source_id) is None:
            return  # not a group here: nothing to keep
    joining = list(added) if everyone is None else everyone
    newcomers = await _newcomers(slack, org.id, joining) if joining else []
    key = await slack.people.key()
    async with slack.runtime.transaction() as session:
        group = await _linked(session, org.id, source, source_id)
        if group is None:
            return
        if name and name != group.name:
            group = await directory.source_group(session, org.id, source, source_id, name)
        if newcomers:
            await directory.upsert_people(session, org.id, newcomers, PEOPLE, key=key)
        origin = Origin(group.source.value)
        ids = await directory.users_by_subject(session, key, [*joining, *removed])
        if everyone is not None:
            await directory.replace_members(session, group, sorted(set(ids.values())), origin)
            return
        if added:
            await directory.add_members(session, group, [ids[s] for s in added if s in ids], origin)
        if removed:
            await directory.remove_members(
                session, group, [ids[s] for s in removed if s in ids], origin
            )


async def subteam_changed(slack: Slack, subteam: dict) -> None:
    """subteam_created or subteam_updated: a linked user group's name and whole member list.
    The event's list is cut at 500: a longer group's list is asked of usergroups.users.list."""
    sid = subteam.get("id")
    if not sid:
        return
    if subteam.get("date_delete"):
        log.info("user group %s was disabled; its members stay as they are", sid)
        return
    async with slack.runtime.transaction() as session:
        org = await default_organisation(session)
        if await _linked(session, org.id, GroupSource.SLACK_USERGROUP, sid) is None:
            return  # a user group no one linked: not a group here
    users = list(subteam.get("users") or [])
    if len(users) >= CUT or subteam.get("user_count", len(users)) != len(users):
        try:
            users = await roster.usergroup_members(slack.client, sid)
        except SlackApiError as exc:
            log.warning("usergroups.users.list %s failed (%s); left for the full sync", sid, exc)
            return
    await members_changed(
        slack, GroupSource.SLACK_USERGROUP, sid, everyone=users, name=subteam.get("name")
    )


async def person_changed(slack: Slack, session, user: dict) -> None:
    """team_join or user_change, in the listener's transaction: the person's names, title
    (as function) and email; deactivated when Slack deleted them."""
    home = await slack.pin.get()
    record = person_of(user, home)
    if record is None:
        return
    org = await default_organisation(session)
    key = await slack.people.key()
    known = await directory.users_by_subject(session, key, [record.subject or ""])
    if not known and record.email:
        known = await directory.users_by_email(session, org.id, [record.email])
    if not known and not org.sso_auto_provision:
        return  # someone the organisation does not provision from Slack
    await directory.upsert_people(session, org.id, [record], PEOPLE, key=key)
