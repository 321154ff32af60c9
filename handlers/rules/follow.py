"""Rules follow the directory: each change (a membership, an attribute, a person added,
deactivated or reactivated) evaluates only the people it touched against only the rules it can
concern; a rule saved or resumed is evaluated whole. Within a second: the directory's writers
wake the follower as they commit (handlers.wakeup), and it polls for other processes' changes.

The cursor (how far the stream is done) is kept in `stream_cursor`, updated in the transaction
that applies the changes, so a restart resumes where the last committed pass ended and nothing
is done twice or skipped. Ids are given out before their transactions commit, so a change may
appear below ids already done: the follower remembers such gaps and looks into them again for
GAP_SECONDS (the durable cursor stays below them), and the nightly reconcile repairs anything
later still. Applying rules is idempotent, so looking twice costs only time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import wakeup
from handlers.directory.groups import chunks
from handlers.rules.apply import Applied, enrol_matching, prune_baseline, withdraw_leavers
from handlers.rules.messages import summarise_run
from handlers.rules.saved import Loaded, load
from store.models import ChangeKind, DirectoryChange, EnrolmentRule, StreamCursor, User, utcnow
from store.upsert import insert_ignoring_conflict

log = logging.getLogger(__name__)

CURSOR = "rules"
BATCH = 5000  # changes per pass
WHOLE_RULE = 2000  # more people than this: evaluate the rule over everyone, one statement
GAP_SECONDS = 120.0
MAX_GAPS = 64
POLL_SECONDS = 0.2
_EVERY_RULE = {ChangeKind.PERSON_ADDED, ChangeKind.REACTIVATED, ChangeKind.DEACTIVATED}


@dataclass
class Touched:
    """Who a batch of changes touched in one organisation, and how."""

    everyone: set[int] = field(default_factory=set)  # added, deactivated, reactivated
    groups: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    fields: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    def add(self, user_id: int, kind: ChangeKind, name: str | None, group_id: int | None) -> None:
        if kind in _EVERY_RULE:
            self.everyone.add(user_id)
        elif kind in (ChangeKind.JOINED, ChangeKind.LEFT) and group_id is not None:
            self.groups[group_id].add(user_id)
        elif kind is ChangeKind.ATTRIBUTE and name:
            self.fields[name].add(user_id)

    def people_for(self, rule: Loaded, below: dict[int, set[int]]) -> set[int]:
        """The touched people whose match with `rule` may have changed."""
        people = set(self.everyone)
        for group_id in rule.group_ids:
            people |= self.groups.get(group_id, set())
        for name in rule.fields:
            people |= self.fields.get(name, set())
        if rule.rule.manager_id is not None:
            moved = self.fields.get("manager_id", set())
            people |= moved
            if rule.rule.all_reports:
                for user_id in moved:
                    people |= below.get(user_id, set())
        if rule.rule.hired_after is not None:
            people |= self.fields.get("hire_date", set())
        return people


class Follower:
    """One follower per process; run it under the job runner's lease so one worker follows."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        name: str = CURSOR,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.name = name
        self.monotonic = monotonic
        self.clock = clock  # the day periods and due dates count from (tests set it)
        self.done_to: int | None = None  # the highest id done (None: read the cursor)
        self.gaps: dict[tuple[int, int], float] = {}  # missing id ranges, when first seen

    async def follow(self, poll: float = POLL_SECONDS) -> None:
        """Follow until cancelled: a pass whenever woken, or every `poll` seconds."""
        woken = wakeup.subscribe()
        try:
            while True:
                woken.clear()
                if await self.step():
                    continue  # there may be more
                try:
                    await asyncio.wait_for(woken.wait(), poll)
                except TimeoutError:
                    pass
        finally:
            wakeup.unsubscribe(woken)

    async def step(self) -> Applied | None:
        """One pass: pending rules, then the next changes. What it did, None when idle."""
        did = Applied()
        busy = False
        for rule_id in await self._pending():
            busy = True
            did.add(await self._run_pending(rule_id))
        changes = await self._changes()
        if changes is not None:
            busy = True
            did.add(changes)
        return did if busy else None

    async def _pending(self) -> list[int]:
        async with self.sessions() as session:
            rows = await session.execute(
                select(EnrolmentRule.id)
                .where(
                    EnrolmentRule.pending_since.is_not(None),
                    EnrolmentRule.deleted_at.is_(None),
                    EnrolmentRule.paused_at.is_(None),
                )
                .order_by(EnrolmentRule.id)
            )
            return list(rows.scalars())

    async def _run_pending(self, rule_id: int) -> Applied:
        """A saved or resumed rule, evaluated over everyone in one transaction."""
        did = Applied()
        async with self.sessions() as session, session.begin():
            found = await load(session, rule_ids=[rule_id])
            if found:
                (rule,) = found
                since = rule.rule.pending_since
                did.enrolled[rule_id] = await enrol_matching(session, rule, now=self.clock())
                await summarise(session, rule, did)
                await session.execute(
                    update(EnrolmentRule)
                    .where(EnrolmentRule.id == rule_id, EnrolmentRule.pending_since == since)
                    .values(pending_since=None)
                )
        return did

    async def _changes(self) -> Applied | None:
        async with self.sessions() as session, session.begin():
            if self.done_to is None:
                self.done_to = await self._read_cursor(session)
            rows = await self._read(session)
            if not rows:
                self._expire_gaps()
                return None
            did = await apply_changes(session, rows, now=self.clock())
            self._advance([row.id for row in rows])
            await session.execute(
                update(StreamCursor)
                .where(StreamCursor.name == self.name)
                .values(position=self.position, updated_at=utcnow())
            )
            return did

    @property
    def position(self) -> int:
        """The durable cursor: below every gap still looked into."""
        assert self.done_to is not None
        return min([self.done_to, *(lo - 1 for lo, _ in self.gaps)])

    async def _read_cursor(self, session: AsyncSession) -> int:
        await insert_ignoring_conflict(
            session, StreamCursor, {"name": self.name, "position": 0, "updated_at": utcnow()}
        )
        found = await session.execute(
            select(StreamCursor.position).where(StreamCursor.name == self.name)
        )
        return int(found.scalar_one())

    async def _read(self, session: AsyncSession) -> list:
        c = DirectoryChange
        where = [c.id > self.done_to]
        where += [and_(c.id >= lo, c.id <= hi) for lo, hi in self.gaps]
        rows = await session.execute(
            select(c.id, c.organisation_id, c.user_id, c.kind, c.field, c.group_id)
            .where(or_(*where))
            .order_by(c.id)
            .limit(BATCH)
        )
        return list(rows)

    def _advance(self, ids: list[int]) -> None:
        """Note the ids done: close the gaps they fill, open gaps for ids skipped over."""
        assert self.done_to is not None
        found = set(ids)
        now = self.monotonic()
        gaps: dict[tuple[int, int], float] = {}
        for (lo, hi), seen in self.gaps.items():
            for part in _missing(lo, hi, found):
                gaps[part] = seen
        newer = sorted(i for i in ids if i > self.done_to)
        if newer:
            for part in _missing(self.done_to + 1, newer[-1], found):
                gaps[part] = now
            self.done_to = newer[-1]
        self.gaps = dict(sorted(gaps.items())[-MAX_GAPS:])
        self._expire_gaps()

    def _expire_gaps(self) -> None:
        now = self.monotonic()
        self.gaps = {g: seen for g, seen in self.gaps.items() if now - seen < GAP_SECONDS}


def _missing(lo: int, hi: int, found: set[int]) -> list[tuple[int, int]]:
    """The ranges of ids in [lo, hi] not in `found`."""
    parts, next_id = [], lo
    for i in sorted(i for i in found if lo <= i <= hi):
        if i > next_id:
            parts.append((next_id, i - 1))
        next_id = i + 1
    if next_id <= hi:
        parts.append((next_id, hi))
    return parts


async def apply_changes(session: AsyncSession, rows: list, now: datetime | None = None) -> Applied:
    """Evaluate the people these changes touched against the rules they can concern."""
    touched: dict[int, Touched] = defaultdict(Touched)
    for row in rows:
        touched[row.organisation_id].add(row.user_id, row.kind, row.field, row.group_id)
    did = Applied()
    for organisation_id, touch in touched.items():
        rules = await load(session, organisation_id=organisation_id)
        if not rules:
            continue
        moved = touch.fields.get("manager_id", set())
        below = await reports_below(session, moved) if moved else {}
        for rule in rules:
            people = touch.people_for(rule, below)
            if people:
                did.add(await apply_rule(session, rule, people, now))
    return did


async def apply_rule(
    session: AsyncSession, rule: Loaded, people: set[int] | None, now: datetime | None = None
) -> Applied:
    """Prune the baseline, enrol, withdraw: for these people, or everyone (None, or many)."""
    did = Applied()
    rule_id = rule.rule.id
    user_ids = None if people is None or len(people) > WHOLE_RULE else sorted(people)
    await prune_baseline(session, rule, user_ids)
    did.enrolled[rule_id] = await enrol_matching(session, rule, user_ids, now)
    if rule.rule.withdraw_on_leave:
        did.withdrawn[rule_id] = await withdraw_leavers(session, rule, user_ids, now)
    await summarise(session, rule, did)
    return did


async def summarise(session: AsyncSession, rule: Loaded, did: Applied) -> None:
    """The rule's maker hears of a run that changed something, once."""
    rule_id = rule.rule.id
    enrolled = [u for _, u in did.enrolled.get(rule_id, [])]
    withdrawn = [u for _, u in did.withdrawn.get(rule_id, [])]
    await summarise_run(session, rule.rule, enrolled, withdrawn, utcnow())


async def reports_below(session: AsyncSession, user_ids: set[int]) -> dict[int, set[int]]:
    """Everyone below each of these people (their reports, and theirs, however deep)."""
    users = User.__table__
    below: dict[int, set[int]] = {}
    for part in chunks(sorted(user_ids)):
        tree = (
            select(users.c.id.label("top"), users.c.id.label("id"))
            .where(users.c.id.in_(part))
            .cte("tree", recursive=True)
        )
        deeper = users.alias("deeper")
        tree = tree.union(select(tree.c.top, deeper.c.id).where(deeper.c.manager_id == tree.c.id))
        for top, user_id in await session.execute(select(tree.c.top, tree.c.id)):
            if top != user_id:
                below.setdefault(top, set()).add(user_id)
    return below
