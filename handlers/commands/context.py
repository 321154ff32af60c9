"""What every command is given: who asked, where, and how the platform's people type commands."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import audit
from handlers.commands.linking import GroupLinker
from handlers.identity import Account, Person, Profile
from handlers.replies import PostProblem
from handlers.signing import LinkSigner
from store.models import AdminRole, Organisation


class CommandError(Exception):
    """A command that cannot be carried out; the message says what to type instead."""


@dataclass(frozen=True)
class FieldProblem:
    """A form value to correct, shown on its field."""

    field: str
    message: str


@dataclass(frozen=True)
class TeamHere:
    """The Teams team a command was sent in (any of its channels): its stable id, its name if
    the message said it (else `name_lookup` asks Teams), and how to start fetching its members
    once the command is answered, the outcome going to the caller privately (given the name
    the group got)."""

    team_id: str
    name: str | None
    sync_soon: Callable[[str], None]
    name_lookup: Callable[[], Awaitable[str | None]] | None = None


@dataclass
class CommandContext:
    session: AsyncSession
    organisation: Organisation
    account: Account
    caller: Person
    signer: LinkSigner
    public_url: str
    bootstrap_admins: frozenset[str]
    prefix: str  # how the platform's users start a command: "/enrol" or "enrol"
    lookup_profile: Callable[[str], Awaitable[Profile]]  # a mentioned person's profile, by id
    # Where the command was typed, and whether the bot may post in a channel (by id).
    channel_id: str | None = None
    channel_name: str | None = None
    check_channel: Callable[[str], Awaitable[PostProblem | None]] | None = None
    admin_destination: str | None = None  # how to reach the caller privately later
    role: AdminRole | None = None
    manager: bool = False  # not an admin, but someone reports to them (set with `role`)
    # Slack lets a command name another channel (#ops); Teams does not, so there a command acts
    # where it is typed, and no help or reply offers [#channel].
    channels_by_name: bool = True
    personal: bool = False  # typed in a one-to-one chat with the bot, not in a channel
    # Runs the directory sources' full sync (all, or the one named): a line about each.
    directory_sync: Callable[[str | None], Awaitable[list[str]]] | None = None
    team: TeamHere | None = None  # Teams: the team the command was sent in, if any
    # The platform's side of `group link` (a Slack user group or channel), where it has one.
    group_links: GroupLinker | None = None
    can_email: bool = False  # SMTP_URL is set: invitations and join confirmations can go out

    def usage(self, form: str) -> str:
        return f"`{self.said(form)}`"

    def said(self, form: str) -> str:
        """The command as typed here. Teams commands begin with the word enrol, so one that
        itself begins with it (`enrol add`) is not written `enrol enrol add` there."""
        if form.split()[:1] == [self.prefix]:
            return form
        return f"{self.prefix} {form}"

    @property
    def here(self) -> str:
        """Where the command was typed, as a reply names it."""
        return "this chat" if self.personal else "this channel"

    async def record(self, action: str, **detail: object) -> None:
        """An audit row for something this caller did (or was refused)."""
        await audit.record(
            self.session,
            organisation_id=self.organisation.id,
            action=action,
            actor=str(self.account),
            actor_user_id=self.caller.user.id if self.caller.user else None,
            **detail,
        )
