"""The app's Home tab: My learning, published with views.publish when someone opens the tab
(`app_home_opened`), as the answer to a button pressed on it (Enrol, Unmute), and again when
their enrolments change.

Republishing after a change is a debounced task in this process, not an outbox row: the Home
tab is a view of the database that is rebuilt whenever its person opens it, so a republish lost
to a crash costs nothing but a stale second, while an outbox row would be one more write in
every enrolment's transaction (a rule's run touches thousands). handlers.refresh tells us, after
each commit, whose My learning changed; within DEBOUNCE_SECONDS the changes of one person (a
rule's run, a batch import) make one publish, and only for people who opened the tab at least
once (identity.home_opened_at). Nothing here runs inside a click's request: a click answers first.
"""

from __future__ import annotations

import asyncio
import logging
import time
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
DEBOUNCE_SECONDS = 1.0
AT_ONCE = 4  # publishes in flight at a time: views.publish is Tier 4 (100+ a minute)


class HomeTab:
    def __init__(self, slack: Slack) -> None:
        self.slack = slack
        self._pending: dict[int, float] = {}  # user id -> when their last change was told
        self._published: dict[str, float] = {}  # Slack user id -> when a publish began
        self._flush: asyncio.Task | None = None
        self._gate = asyncio.Semaphore(AT_ONCE)
        self._loop: asyncio.AbstractEventLoop | None = None

    # Lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        refresh.listen(self.changed)

    async def close(self) -> None:
        refresh.unlisten(self.changed)
        if self._flush is not None:
            self._flush.cancel()

    # Publishing ------------------------------------------------------------------------------

    async def publish(
        self, user_id: str, notice: str | None = None, *, opened: bool = False
    ) -> None:
        """Build and publish `user_id`'s Home tab (a Slack user id of our workspace)."""
        self._published[user_id] = time.monotonic()
        home = await self.slack.pin.get()
        account = Account(PROVIDER, home.team_id, user_id)
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

    def changed(self, user_ids: set[int]) -> None:
        """handlers.refresh's listener, in SQLAlchemy's after_commit: only hand the ids to the
        service's event loop (the commit may have run on another thread's loop)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._note, user_ids, time.monotonic())

    def _note(self, user_ids: set[int], told: float) -> None:
        for user_id in user_ids:  # the latest change counts: older ones may be published
            self._pending[user_id] = told
        if self._flush is None or self._flush.done():
            self._flush = asyncio.get_running_loop().create_task(self._republish())

    async def _republish(self) -> None:
        await asyncio.sleep(DEBOUNCE_SECONDS)
        pending, self._pending = self._pending, {}
        try:
            subjects = await self._opened(pending)
        except Exception:
            log.exception("could not tell whose Home tab to republish")
            return
        due = [s for s, told in subjects if self._published.get(s, 0.0) < told]
        results = await asyncio.gather(*(self._republish_one(s) for s in due))
        if sum(results):
            log.info("republished %d Home tabs", sum(results))

    async def _republish_one(self, user_id: str) -> int:
        try:
            await self.publish(user_id)
        except SlackApiError as exc:
            log.info("a Home tab was not republished (%s)", exc.response.get("error"))
            return 0
        except Exception:
            log.exception("a Home tab was not republished (user %s)", user_id)
            return 0
        return 1

    async def _opened(self, pending: dict[int, float]) -> list[tuple[str, float]]:
        """The Slack accounts of these people that opened the Home tab, with when each
        person's change was told."""
        if not pending:
            return []
        home = await self.slack.pin.get()
        found: list[tuple[str, float]] = []
        ids = list(pending)
        async with self.slack.runtime.sessions() as session:
            for start in range(0, len(ids), 500):
                rows = await session.execute(
                    select(Identity.subject, Identity.user_id).where(
                        Identity.provider == PROVIDER,
                        Identity.tenant_key == home.team_id,
                        Identity.user_id.in_(ids[start : start + 500]),
                        Identity.home_opened_at.is_not(None),
                    )
                )
                found += [(subject, pending[user_id]) for subject, user_id in rows]
        return found
