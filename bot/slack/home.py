"""The app's Home tab: My learning, published with views.publish when someone opens the tab
(`app_home_opened`), as the answer to a button pressed on it (Enrol, Unmute), and again when
their enrolments change.

Republishing after a change goes through the `home_refresh` queue (handlers.refresh): whoever
changes a person's My learning, in any process (a CLI import, the periods job, another worker),
queues them in the same transaction, if they opened the tab once (identity.home_opened_at).
The service's "home-refresh" job (`republish_due`, every few seconds, under a lease) takes the
due rows and publishes each; a failed publish goes back in the queue, due a little later. A
person's many changes in between (a rule's run, a batch import) make one row, so one publish.
Nothing here runs inside a click's request: a click answers first.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot import my_learning
from bot.slack.my_learning_blocks import home_view, unknown_home
from handlers import refresh
from handlers.identity import Account
from store.models import Identity

if TYPE_CHECKING:
    from bot.slack.adapter import Slack

log = logging.getLogger(__name__)

PROVIDER = "slack"
AT_ONCE = 4  # publishes in flight at a time: views.publish is Tier 4 (100+ a minute)


class HomeTab:
    def __init__(self, slack: Slack) -> None:
        self.slack = slack
        self._gate = asyncio.Semaphore(AT_ONCE)

    # Publishing ------------------------------------------------------------------------------

    async def publish(
        self, user_id: str, notice: str | None = None, *, opened: bool = False
    ) -> None:
        """Build and publish `user_id`'s Home tab (a Slack user id of our workspace)."""
        home = await self.slack.pin.get()
        account = Account(PROVIDER, home.team_id, user_id)
        # What is queued for them until now, this view shows: the job need not publish again
        # (and would overwrite a button's notice).
        await self.slack.runtime.transact(lambda s: refresh.shown(s, account))
        lookup = self.slack.directory.lookup(user_id, home, home.team_id, home.enterprise_id)
        view = await my_learning.view_of(self.slack.runtime, account, lookup, home_opened=opened)
        payload = home_view(view, notice) if view is not None else unknown_home()
        async with self._gate:
            await self.slack.client.views_publish(user_id=user_id, view=payload)

    async def opened(self, user_id: str) -> None:
        try:
            await self.publish(user_id, opened=True)
        except Exception:
            log.exception("the Home tab could not be published (user %s)", user_id)

    async def unmute(self, user_id: str, value: str) -> None:
        """An Unmute button on the Home tab: reminders on again, the tab shows it."""
        home = await self.slack.pin.get()
        account = Account(PROVIDER, home.team_id, user_id)
        lookup = self.slack.directory.lookup(user_id, home, home.team_id, home.enterprise_id)
        said = await my_learning.unmute(self.slack.runtime, account, lookup, value)
        await self.publish(user_id, said)

    # After a change --------------------------------------------------------------------------

    async def republish_due(self) -> None:
        """The "home-refresh" job: take the people due (handlers.refresh), publish each one's
        Home tab, and put back those whose publish failed."""
        runtime = self.slack.runtime
        people = await runtime.transact(refresh.take)
        if not people:
            return
        try:
            subjects = await self._opened(people)
        except Exception:
            await runtime.transact(lambda s: refresh.later(s, people))
            raise
        results = await asyncio.gather(*(self._republish_one(s) for s, _ in subjects))
        failed = sorted({user for (_, user), ok in zip(subjects, results, strict=True) if not ok})
        if failed:
            await runtime.transact(lambda s: refresh.later(s, failed))
        if sum(results):
            log.info("republished %d Home tabs", sum(results))

    async def _republish_one(self, user_id: str) -> bool:
        try:
            await self.publish(user_id)
        except SlackApiError as exc:
            log.info("a Home tab was not republished (%s)", exc.response.get("error"))
            return False
        except Exception:
            log.exception("a Home tab was not republished (user %s)", user_id)
            return False
        return True

    async def _opened(self, people: list[int]) -> list[tuple[str, int]]:
        """The Slack accounts of these people that opened the Home tab here, with whose."""
        home = await self.slack.pin.get()
        async with self.slack.runtime.sessions() as session:
            rows = await session.execute(
                select(Identity.subject, Identity.user_id).where(
                    Identity.provider == PROVIDER,
                    Identity.tenant_key == home.team_id,
                    Identity.user_id.in_(people),
                    Identity.home_opened_at.is_not(None),
                )
            )
            return [(subject, int(user_id)) for subject, user_id in rows]
