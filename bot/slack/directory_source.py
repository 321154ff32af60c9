"""Slack as a directory source: people from users.list, and the user groups and channels admins
linked (`group link`) as groups whose members follow Slack's.

Slack supplies identities and attributes, and makes people only where the organisation
provisions people from sign-in (`sso_auto_provision`), as a click would; otherwise it links and
updates people already known by email. It deactivates only people Slack marks `deleted`, never
those it leaves out (users.list does not list other workspaces of an Enterprise Grid). Both
go through the core's snapshot and its removal threshold (handlers.directory.sync).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from bot.slack import roster
from bot.slack.client import error_code
from bot.slack.directory import person_of
from bot.slack.linking import SlackLinker
from handlers import directory
from handlers.commands.group_links import PAID_PLAN, invite_me
from handlers.commands.linking import LinkTarget
from handlers.directory import GroupRecord, PersonRecord, Snapshot, SourceKey, SyncRun
from handlers.organisations import default_organisation
from handlers.replies import echo
from store.models import GroupSource

if TYPE_CHECKING:
    from bot.slack.adapter import Slack

log = logging.getLogger(__name__)

PROVIDER = "slack"
PAID_ONLY = ("plan_upgrade_required", "paid_teams_only")
FIRST_SYNC_WAIT = 10.0  # seconds a first sync waits for the link's transaction to commit


class SlackDirectory:
    def __init__(self, slack: Slack) -> None:
        self.slack = slack

    async def key(self) -> SourceKey:
        return SourceKey(PROVIDER, (await self.slack.pin.get()).team_id)

    async def full_sync(self, run: SyncRun) -> None:
        await self.sync(run)

    async def sync(self, run: SyncRun, only: LinkTarget | None = None) -> None:
        """People, then the linked user groups (one snapshot, with the people) and channels
        (another); `only` limits the groups to one just linked."""
        key = await self.key()
        people, complete = await self._people(run)
        linked = await self._linked(run, only)
        groups = await self._usergroups(run, linked[GroupSource.SLACK_USERGROUP])
        await run.apply(
            Snapshot(
                GroupSource.SLACK_USERGROUP,
                key,
                complete and groups.complete,
                people,
                groups.items,
                absent_kept=True,
            )
        )
        if linked[GroupSource.SLACK_CHANNEL]:
            channels = await self._channels(run, linked[GroupSource.SLACK_CHANNEL])
            await run.apply(
                Snapshot(GroupSource.SLACK_CHANNEL, key, channels.complete, None, channels.items)
            )

    async def _people(self, run: SyncRun) -> tuple[list[PersonRecord], bool]:
        home = await self.slack.pin.get()
        fetched = await roster.users(self.slack.client)  # the first page failing: raise
        people = [p for user in fetched.items if (p := person_of(user, home)) is not None]
        return await self.allowed(run.organisation_id, people), fetched.complete

    async def allowed(self, organisation_id: int, people: list[PersonRecord]) -> list[PersonRecord]:
        """The people Slack may write: all where the organisation provisions from sign-in,
        else only those known already, by their Slack id or email."""
        key = await self.key()
        async with self.slack.runtime.transaction() as session:
            org = await default_organisation(session)
            if org.sso_auto_provision:
                return people
            subjects = await directory.users_by_subject(
                session, key, [p.subject for p in people if p.subject]
            )
            emails = await directory.users_by_email(
                session, organisation_id, [p.email for p in people if p.email]
            )
        return [
            p for p in people if (p.subject in subjects) or (p.email and p.email.lower() in emails)
        ]

    async def _linked(
        self, run: SyncRun, only: LinkTarget | None
    ) -> dict[GroupSource, list[tuple[str, str]]]:
        """(Slack id, name) of the linked user groups and channels."""
        linked: dict[GroupSource, list[tuple[str, str]]] = {
            GroupSource.SLACK_USERGROUP: [],
            GroupSource.SLACK_CHANNEL: [],
        }
        if only is not None:
            linked[only.source].append((only.source_id, only.name))
            return linked
        async with run.sessions() as session:
            for source, found in linked.items():
                groups = await directory.source_groups(session, run.organisation_id, source)
                found.extend((g.source_id, g.name) for g in groups if g.source_id)
        return linked

    async def _usergroups(self, run: SyncRun, linked: list[tuple[str, str]]) -> roster.Fetched:
        got = roster.Fetched()
        if not linked:
            return got
        try:
            known = await roster.usergroups(self.slack.client)
        except SlackApiError as exc:
            if error_code(exc) in PAID_ONLY:
                run.note(PAID_PLAN)
                return got
            raise
        for usergroup, name in linked:
            found = known.get(usergroup)
            if found is None or found.get("date_delete"):
                run.note(
                    f"the user group {echo(name)} is deleted or disabled in Slack, so its members "
                    f"were left as they were; `group unlink {echo(name)}` stops following it."
                )
                continue
            try:
                members = await roster.usergroup_members(self.slack.client, usergroup)
            except roster.FAILURES as exc:
                log.warning("usergroups.users.list of %s failed (%s)", usergroup, exc)
                got.complete = False
                continue
            got.items.append(GroupRecord(usergroup, found.get("name") or name, members))
        return got

    async def _channels(self, run: SyncRun, linked: list[tuple[str, str]]) -> roster.Fetched:
        got = roster.Fetched()
        for channel, name in linked:
            try:
                fetched = await roster.channel_members(self.slack.client, channel)
            except SlackApiError as exc:
                if error_code(exc) in ("channel_not_found", "not_in_channel"):
                    run.note(invite_me(f"#{echo(name)}"))
                    continue
                raise
            got.complete = got.complete and fetched.complete
            got.items.append(GroupRecord(channel, name, fetched.items))
        return got

    def linker(self, tell: str | None) -> SlackLinker:
        return SlackLinker(self, tell)

    async def first_sync(self, target: LinkTarget, tell: str | None) -> None:
        """A just-linked group's members, once the link is committed; the outcome to `tell`."""
        from bot.directory_sync import sync_run, tell_privately

        runtime = self.slack.runtime
        try:
            await self._committed(target)
            run = await sync_run(runtime)
            await self.sync(run, only=target)
            lines = [r.describe() for r in run.results if r.source == target.source.value]
            lines += run.notes
        except Exception:
            log.exception("the first sync of %s %s failed", target.source, target.source_id)
            lines = ["the fetch failed; enrolbot's log says why. `group sync slack` tries again."]
        if tell is not None:
            await tell_privately(runtime, tell, f"{target.called}: " + " ".join(lines))

    async def _committed(self, target: LinkTarget) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FIRST_SYNC_WAIT
        while loop.time() < deadline:
            async with self.slack.runtime.transaction() as session:
                org = await default_organisation(session)
                groups = await directory.source_groups(session, org.id, target.source)
            if any(g.source_id == target.source_id for g in groups):
                return
            await asyncio.sleep(0.1)
