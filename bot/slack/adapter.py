"""What every Slack listener needs: who is asking, the handler's context, and how to answer.

Listeners stay a few lines each: they call into here and into handlers/.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime import Runtime
from bot.slack import blocks, directory
from bot.slack.client import Replies, error_code
from bot.slack.directory_source import SlackDirectory
from bot.slack.home import HomeTab
from bot.slack.my_learning_blocks import my_learning_message
from bot.slack.workspace import Pin
from bot.web.ratelimit import SlidingWindow
from handlers import commands
from handlers.alerts import channel_destination
from handlers.commands import CommandContext
from handlers.identity import Account, Profile, ProfileLookup
from handlers.replies import (
    ConfirmLinkDelete,
    ConfirmTokenDelete,
    EnrolButton,
    LinkCreated,
    MyLearningReply,
    Notice,
    PostProblem,
    Reply,
    post_failed,
    posted,
)

log = logging.getLogger(__name__)

PROVIDER = "slack"
COMMAND = "/enrol"
REGISTRATIONS_PER_ACCOUNT = 10
REGISTRATION_WINDOW = 600  # seconds

_POST_PROBLEMS = {
    "not_in_channel": PostProblem.NOT_IN_CHANNEL,
    "channel_not_found": PostProblem.NOT_IN_CHANNEL,
    "is_archived": PostProblem.ARCHIVED,
}


@dataclass(frozen=True)
class Caller:
    """The person behind a request: their account, keyed by our workspace whatever team the
    request names, and how to ask Slack about them (only if they may be one of ours)."""

    account: Account
    lookup: ProfileLookup
    channel_id: str | None = None  # where a command was typed
    channel_name: str | None = None  # as Slack sent it ("privategroup" for private channels)

    @property
    def in_direct_message(self) -> bool:
        """Typed in a direct message: Slack names every DM `directmessage`, and a DM's id
        starts with D."""
        return self.channel_name == "directmessage" or (self.channel_id or "").startswith("D")


class Slack:
    def __init__(self, runtime: Runtime, client: AsyncWebClient) -> None:
        self.runtime = runtime
        self.client = client
        self.directory = directory.Directory(client)
        self.people = SlackDirectory(self)  # Slack as a directory source: people and groups
        self.replies = Replies(runtime.settings.slack_timeout_seconds)
        self.pin = Pin(client)
        self.home = HomeTab(self)  # the app's Home tab: My learning (bot.slack.home)
        # Registrations sent from the modal of a registration button, per Slack account: each
        # may create a prospect and email an invitation (bot.slack.registration).
        self.registrations = SlidingWindow(REGISTRATIONS_PER_ACCOUNT, REGISTRATION_WINDOW)

    async def command_context(
        self, session: AsyncSession, caller: Caller, channel_name: str | None
    ) -> CommandContext:
        """Identify who typed a command or pressed an admin button, for handlers.commands."""
        home = await self.pin.get()

        async def lookup_profile(subject: str) -> Profile:
            return await self.directory.profile(subject, home)

        account = caller.account
        tell = channel_destination(PROVIDER, account.tenant_key, account.subject)
        return await self.runtime.command_context(
            session,
            account,
            caller.lookup,
            prefix=COMMAND,
            lookup_profile=lookup_profile,
            channel_id=caller.channel_id,
            channel_name=channel_name,
            check_channel=self.check_channel,
            admin_destination=tell,
            personal=caller.in_direct_message,
            group_links=self.people.linker(tell),
        )

    async def channel_name(self, channel_id: str | None, sent: str | None) -> str | None:
        """A channel's name for replies, or None ("this channel"). Slack sends `directmessage`
        for DMs and `privategroup` for every private channel: a private channel's real name is
        asked of Slack."""
        if sent == "directmessage":
            return None
        if sent != "privategroup" or not channel_id:
            return sent or None
        try:
            info = (await self.client.conversations_info(channel=channel_id))["channel"]
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.info("no name for private channel %s (%s)", channel_id, type(exc).__name__)
            return None
        return info.get("name") or None

    async def check_channel(self, channel_id: str) -> PostProblem | None:
        """Whether the bot can post in a channel: public ones always (chat:write.public),
        private ones only once it has been invited."""
        try:
            info = (await self.client.conversations_info(channel=channel_id))["channel"]
        except SlackApiError as exc:
            code = error_code(exc)
            if code in ("channel_not_found", "not_in_channel"):
                return PostProblem.NOT_IN_CHANNEL
            if code == "missing_scope":  # an install made before the scope was added
                log.warning("conversations.info needs channels:read and groups:read; not checked")
                return None
            raise
        if info.get("is_archived"):
            return PostProblem.ARCHIVED
        if info.get("is_im"):
            # Slack's im object has no is_member: a direct message the bot can see is one it
            # is in (one of its two people is always the caller, here the bot).
            return None
        if (info.get("is_private") or info.get("is_mpim")) and not info.get("is_member"):
            return PostProblem.NOT_IN_CHANNEL
        return None

    async def post_button(self, button: EnrolButton, here_id: str, here_name: str | None) -> Notice:
        """Post an Enrol button message; say where it went, or why it could not. `here_name`
        is the channel_name() of where the command was typed."""
        channel = button.channel or here_id
        name = button.channel_name if button.channel else here_name
        where = f"#{name}" if name else "this conversation"
        try:
            await self.client.chat_postMessage(channel=channel, **blocks.enrol_message(button))
        except SlackApiError as exc:
            problem = _POST_PROBLEMS.get(error_code(exc))
            if problem is None:
                raise
            return post_failed(problem, where)
        async with self.runtime.transaction() as session:
            await commands.record_posted(session, button, channel)
        return posted(button, where)

    async def answer(self, response_url: str, reply: Reply) -> None:
        await self.replies.send(response_url, render(reply))

    async def tell(self, channel_id: str | None, user_id: str, reply: Reply) -> None:
        """An ephemeral message where there is no response_url (after a modal): in the
        channel the command came from, or else in a direct message."""
        message = render(reply)
        message.pop("response_type"), message.pop("replace_original")
        if channel_id:
            try:
                await self.client.chat_postEphemeral(channel=channel_id, user=user_id, **message)
                return
            except SlackApiError as exc:
                log.info("ephemeral message failed (%s); sending a DM", error_code(exc))
        await self.client.chat_postMessage(channel=user_id, **message)


# A click's answer is one of a few sentences per item, asked for thousands of times after an
# announcement: build each once.
_notice = lru_cache(maxsize=1024)(blocks.notice)


def render(reply: Reply) -> dict:
    if isinstance(reply, LinkCreated):
        return blocks.link_created(reply)
    if isinstance(reply, ConfirmLinkDelete | ConfirmTokenDelete):
        return blocks.confirm_delete(reply)
    if isinstance(reply, MyLearningReply):
        return my_learning_message(reply.view)
    if isinstance(reply, Notice):
        return dict(_notice(reply))  # callers set the message's top-level flags on their copy
    raise TypeError(f"no Slack rendering for {type(reply).__name__}")
