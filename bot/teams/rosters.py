"""A Teams team's members as a group of people (GroupSource.TEAMS_TEAM, keyed by the team's
id, channelData.team.id), once an admin linked it with `group link team`.

- Kept current by Teams' conversationUpdate activities: membersAdded / membersRemoved in the
  team (the bot's own arrival is the moment to offer linking; its removal, the app's
  uninstallation or the team's deletion unlinks the group, which keeps its members and is kept
  by hand from then on, the admins told; a rename renames it).
- Repaired by a full sync (the directory source "teams"): every linked team's roster through
  the connector's pagedmembers, page by page. A page that failed makes that team's sync
  additions-only; the removal threshold of handlers.directory applies to the rest.

People are keyed as Teams clicks key them: SourceKey("teams", tenant), subject = aadObjectId.
Teams keeps groups, not people: members who are not portal users are made staff only when the
organisation provisions from SSO (as a click would); otherwise they stay out of the group until
they are users. Guests, people of other tenants and anonymous participants are never members.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.directory_sync import sync_run, tell_privately
from bot.runtime import Runtime
from bot.teams import cards
from bot.teams.activity import PROVIDER, tenant_of
from bot.teams.connector import Connector, ConnectorError
from bot.teams.directory import profile_of
from bot.teams.roster_shapes import (
    Known,
    Roster,
    accounts,
    all_members,
    known_members,
    subject_of,
    team_of,
    uninstalled,
)
from handlers import admin_notices, directory
from handlers.commands.context import TeamHere
from handlers.commands.group_links import team_unlinked_text
from handlers.commands.team_link import OFFER, RosterOutcome, first_sync_report
from handlers.directory import GroupRecord, Origin, Outcome, PersonRecord, Snapshot, SyncRun
from handlers.replies import Notice
from store.models import Group, GroupSource, Organisation, Standing, TeamsConversation, utcnow

log = logging.getLogger(__name__)

SOURCE = GroupSource.TEAMS_TEAM
ORIGIN = Origin(SOURCE.value)
MAX_PAGES = 1000  # 500,000 members: far beyond a team's limit; a loop that never ends is a bug


class Rosters:
    def __init__(self, runtime: Runtime, connector: Connector, tenant: str) -> None:
        self.runtime = runtime
        self.connector = connector
        self.tenant = tenant
        self.key = directory.SourceKey(PROVIDER, tenant)
        self._pending: dict[str, tuple[str, str, str, str | None]] = {}
        self._running: set[asyncio.Task] = set()

    # group link team: the team a command was sent in, and its first sync ----------------------

    def here(self, activity: dict, tell: str | None) -> TeamHere | None:
        team = team_of(activity)
        if team is None or tenant_of(activity) != self.tenant:
            return None
        team_id, name = team
        service_url = activity["serviceUrl"]

        def soon(group_name: str) -> None:
            self._pending[str(activity.get("id"))] = (team_id, group_name, service_url, tell)

        async def lookup() -> str | None:
            try:
                details = await self.connector.team_details(service_url, team_id)
            except ConnectorError as exc:
                log.warning("could not read a Teams team's name: %s", exc)
                return None
            found = details.get("name")
            return found if isinstance(found, str) and found.strip() else None

        return TeamHere(team_id, name, soon, lookup)

    def after_answer(self, activity: dict, *, start: bool = True) -> None:
        """The command was answered (and its transaction committed): start the first sync
        it asked for, if any."""
        pending = self._pending.pop(str(activity.get("id")), None)
        if pending is None or not start:
            return
        task = asyncio.create_task(self._first_sync(*pending))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _first_sync(
        self, team_id: str, name: str, service_url: str, tell: str | None
    ) -> None:
        try:
            await self._remember_team(team_id, service_url)
            outcome = await self.sync(await sync_run(self.runtime), only=team_id)
        except Exception:
            log.exception("the first sync of a linked Teams team failed")
            outcome = RosterOutcome(failed=True)
        if tell is not None:
            await tell_privately(self.runtime, tell, first_sync_report(name, outcome))

    # conversationUpdate: Teams telling us the team changed ------------------------------------

    async def updated(self, activity: dict) -> None:
        """A conversationUpdate (or an installationUpdate), after it was acknowledged. Only
        teams of our tenant; only linked teams' members are recorded."""
        team = team_of(activity)
        if team is None or tenant_of(activity) != self.tenant:
            return
        try:
            await self._updated(activity, *team)
        except Exception:
            log.exception("a Teams team's update could not be recorded")

    async def _updated(self, activity: dict, team_id: str, name: str | None) -> None:
        service_url = activity["serviceUrl"]
        await self._remember_team(team_id, service_url)
        bot = (activity.get("recipient") or {}).get("id")
        added = accounts(activity.get("membersAdded"))
        removed = accounts(activity.get("membersRemoved"))
        event = (activity.get("channelData") or {}).get("eventType")
        group = await self._group(team_id)
        if any(m["id"] == bot for m in added) and group is None:
            await self._offer(service_url, team_id)
        if group is None:
            return
        if any(m["id"] == bot for m in removed) or uninstalled(activity):
            await self._unlink(group, deleted=False)
            return
        if event == "teamDeleted":
            await self._unlink(group, deleted=True)
            return
        if event == "teamRenamed" and name:
            await self._rename(team_id, name)
        people = [m for m in added if m["id"] != bot]
        if people:
            await self._joined(group, service_url, team_id, people)
        gone = [s for m in removed if m["id"] != bot and (s := subject_of(m))]
        if gone:
            async with self.runtime.transaction() as session:
                users = await directory.users_by_subject(session, self.key, gone)
                group = await session.get(Group, group.id)
                assert group is not None
                await directory.remove_members(session, group, list(users.values()), ORIGIN)

    async def _joined(
        self, group: Group, service_url: str, team_id: str, added: list[dict]
    ) -> None:
        """Members who joined: those never seen are asked about (the activity names only their
        ids), then mapped as a sync maps them."""
        async with self.runtime.transaction() as session:
            seen = await directory.users_by_subject(
                session, self.key, [s for m in added if (s := subject_of(m))]
            )
        members = []
        for member in added:
            subject = subject_of(member)
            if subject in seen:
                members.append(member)
                continue
            try:
                found = await self.connector.member(service_url, team_id, member["id"])
            except ConnectorError as exc:  # the nightly sync will know them
                log.warning("could not look up a member who joined a Teams team: %s", exc)
                found = None
            members.append(found or member)
        async with self.runtime.transaction() as session:
            org = await self.runtime.organisation(session)
            known = await self._people(session, org.id, members)
            group = await session.get(Group, group.id)  # type: ignore[assignment]
            assert group is not None
            await directory.add_members(session, group, list(known.users.values()), ORIGIN)

    async def _group(self, team_id: str) -> Group | None:
        async with self.runtime.transaction() as session:
            org = await self.runtime.organisation(session)
            for group in await directory.source_groups(session, org.id, SOURCE):
                if group.source_id == team_id:
                    return group
        return None

    async def _offer(self, service_url: str, team_id: str) -> None:
        """The bot was added to a team: say in it how to use its members as a group."""
        try:
            await self.connector.send(
                service_url, team_id, cards.message(cards.notice(Notice(OFFER)))
            )
        except ConnectorError as exc:
            log.warning("could not offer linking in a team the bot joined: %s", exc)

    async def _unlink(self, group: Group, *, deleted: bool) -> None:
        """The app was removed from the team, or the team deleted: its updates stop, so the
        group stops following it and keeps its members (handlers.directory.links says why);
        the admins are told once."""
        async with self.runtime.transaction() as session:
            live = await session.get(Group, group.id)
            done = await directory.unlink_group(session, live) if live is not None else None
            if done is not None:
                text = team_unlinked_text(group.name, done, deleted=deleted)
                await admin_notices.tell_admins(
                    session,
                    group.organisation_id,
                    text,
                    utcnow(),
                    bootstrap_admins=self.runtime.settings.admin_emails,
                )

    async def _rename(self, team_id: str, name: str) -> None:
        async with self.runtime.transaction() as session:
            org = await self.runtime.organisation(session)
            await directory.source_group(session, org.id, SOURCE, team_id, name)

    async def _remember_team(self, team_id: str, service_url: str) -> None:
        """Where the team is reached later (the full sync reads its roster there). A team's id
        is also its General channel's conversation id."""
        async with self.runtime.transaction() as session:
            row = await session.get(TeamsConversation, team_id)
            if row is None:
                session.add(
                    TeamsConversation(
                        conversation_id=team_id,
                        tenant_id=self.tenant,
                        service_url=service_url,
                        kind="channel",
                    )
                )
            elif row.service_url != service_url:
                row.service_url = service_url

    # Full sync ----------------------------------------------------------------------------------

    async def full_sync(self, run: SyncRun) -> None:
        """The directory source "teams": every linked team's roster."""
        await self.sync(run)

    async def sync(self, run: SyncRun, only: str | None = None) -> RosterOutcome:
        """Fetch the linked teams' rosters (or the one named) and apply them: the complete
        ones as one snapshot under the removal threshold, those with a failed page as an
        additions-only one."""
        teams = await self._linked(run, only)
        outcome = RosterOutcome()
        if not teams:
            outcome.failed = only is not None
            return outcome
        rosters = {team_id: await self._fetch(url, team_id) for team_id, _, url in teams}
        if only is not None and not rosters[only].complete and not rosters[only].members:
            outcome.failed = True
            return outcome
        async with run.sessions() as session, session.begin():
            known = await self._people(session, run.organisation_id, all_members(rosters.values()))
        outcome.created, outcome.not_users, outcome.guests = (
            known.created,
            known.not_users,
            known.guests,
        )
        for complete in (True, False):
            records = [
                GroupRecord(team_id, name, known_members(rosters[team_id], known))
                for team_id, name, _ in teams
                if rosters[team_id].complete is complete
            ]
            if records:
                result = await run.apply(Snapshot(SOURCE, self.key, complete, None, records))
                outcome.joined += result.joined
                outcome.left += result.left
                outcome.stopped |= result.outcome is Outcome.STOPPED
                outcome.partial |= result.outcome is Outcome.PARTIAL
        return outcome

    async def _linked(self, run: SyncRun, only: str | None) -> list[tuple[str, str, str | None]]:
        """(team id, group name, service URL) of each linked team."""
        async with run.sessions() as session:
            groups = await directory.source_groups(session, run.organisation_id, SOURCE)
            found = []
            for group in groups:
                if group.source_id and (only is None or group.source_id == only):
                    url = await self._service_url(session, group.source_id)
                    found.append((group.source_id, group.name, url))
            return found

    async def _service_url(self, session: AsyncSession, team_id: str) -> str | None:
        """Where the team is reached: the URL its last activity came from, else the newest the
        tenant used (Teams gives one per region, not per team)."""
        row = await session.get(TeamsConversation, team_id)
        if row is None:
            row = await session.scalar(
                select(TeamsConversation)
                .where(TeamsConversation.tenant_id == self.tenant)
                .order_by(TeamsConversation.updated_at.desc())
                .limit(1)
            )
        return row.service_url if row else None

    async def _fetch(self, service_url: str | None, team_id: str) -> Roster:
        roster = Roster()
        if service_url is None:
            log.warning("no service URL known for a linked Teams team; skipped its sync")
            return Roster(complete=False)
        continuation: str | None = None
        for _ in range(MAX_PAGES):
            try:
                page = await self.connector.paged_members(service_url, team_id, continuation)
            except ConnectorError as exc:
                log.warning("a page of a Teams team's members failed (%s); additions only", exc)
                roster.complete = False
                return roster
            roster.members.extend(accounts(page.get("members")))
            continuation = page.get("continuationToken")
            if not continuation or not isinstance(continuation, str):
                return roster
        roster.complete = False
        return roster

    # Who the members are -----------------------------------------------------------------------

    async def _people(
        self, session: AsyncSession, organisation_id: int, members: list[dict]
    ) -> Known:
        """Map members to portal users by their Entra object id, else their email; make the
        missing ones staff if the organisation provisions from SSO. Only what Teams says of
        new people is used: it never renames or re-addresses someone the portal knows."""
        known = Known()
        eligible: dict[str, dict] = {}
        for member in members:
            subject = subject_of(member)
            if subject is None or profile_of(member, self.tenant).standing is not Standing.MEMBER:
                known.guests += 1
            else:
                eligible[subject] = member
        known.users = await directory.users_by_subject(session, self.key, list(eligible))
        new = [s for s in eligible if s not in known.users]
        if not new:
            return known
        org = await session.get(Organisation, organisation_id)
        records = [
            PersonRecord(subject=s, email=profile_of(eligible[s], self.tenant).email) for s in new
        ]
        done = await directory.upsert_people(
            session, organisation_id, records, ORIGIN, key=self.key, create=False
        )
        missing = [r for r, u in zip(records, done.user_ids, strict=True) if u is None]
        if missing and org is not None and org.sso_auto_provision:
            for record in missing:
                profile = profile_of(eligible[record.subject or ""], self.tenant)
                record.attributes = {
                    "first_name": profile.first_name,
                    "last_name": profile.last_name,
                }
            made = await directory.upsert_people(
                session, organisation_id, missing, ORIGIN, key=self.key, create=True
            )
            known.created = made.created
        known.users = await directory.users_by_subject(session, self.key, list(eligible))
        known.not_users = len(eligible) - len(known.users)
        return known
