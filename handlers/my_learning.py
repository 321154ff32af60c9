"""My learning: what one person sees of their own enrolments, platform-neutral.

`my_learning` reads, in a few set-based queries, a person's current enrolments (the latest
period of each item) that they may see (shown already, not withdrawn): overdue first, then due
within DUE_SOON, then the rest; their latest completions; the items an admin featured that they
are not in yet, each with the signed token its Enrol button carries; and what they muted.
The Slack Home tab (bot/slack/home_view.py), the Teams card (bot/teams/my_learning_card.py) and
the `my learning` command render it; the sentences are handlers.my_learning_words'.

The mute model (`reminder_mute`) is here too: a row per muted item, item_id NULL for all.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, exists, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from handlers import links
from handlers.my_learning_words import source_text
from handlers.signing import LinkSigner
from store.models import (
    CatalogItem,
    Enrolment,
    EnrolmentLink,
    EnrolmentStatus,
    Group,
    GroupKind,
    RegistrationToken,
    ReminderMute,
    RuleCondition,
    RuleGroup,
    User,
    utcnow,
)
from store.upsert import insert_ignoring_conflict

DUE_SOON = timedelta(days=7)
COMPLETED_SHOWN = 5
FEATURED_SHOWN = 20
UNMUTE_ALL = "all"  # what an Unmute button carries to mean every reminder, not one item
OPEN_SHOWN = 200  # a person with more open enrolments than this sees the count of the rest


class Bucket(enum.IntEnum):
    OVERDUE = 0
    DUE_SOON = 1
    REST = 2


@dataclass(frozen=True)
class Entry:
    """One enrolment as the person sees it."""

    item_id: int
    slug: str
    title: str
    kind: str
    bucket: Bucket
    required: bool | None  # None: not said (links, tokens); True required, False recommended
    due_at: datetime | None
    source: str  # why it is there, short: "rule: Sales department", "link: Intranet"
    url: str | None  # the item on the learning platform, when the catalog knows it
    muted: bool = False  # reminders muted for this item (or all)
    completed_at: datetime | None = None


@dataclass(frozen=True)
class Featured:
    """An item an admin featured, with the token its Enrol button carries."""

    item_id: int
    slug: str
    title: str
    kind: str
    token: str
    url: str  # the deep link, for where a button cannot enrol (a browser)


@dataclass(frozen=True)
class MyLearning:
    now: datetime
    overdue: tuple[Entry, ...] = ()
    due_soon: tuple[Entry, ...] = ()
    rest: tuple[Entry, ...] = ()
    more_open: int = 0  # open enrolments beyond OPEN_SHOWN, not listed
    completed: tuple[Entry, ...] = ()  # the latest COMPLETED_SHOWN
    completed_total: int = 0
    featured: tuple[Featured, ...] = ()
    all_muted: bool = False
    muted_items: tuple[tuple[int, str], ...] = field(default=())  # (item id, title)

    @property
    def open_total(self) -> int:
        return len(self.overdue) + len(self.due_soon) + len(self.rest) + self.more_open

    @property
    def empty(self) -> bool:
        return not (self.open_total or self.completed_total or self.featured)


def latest_period(row: type[Enrolment] | object, shown_at: datetime | None = None) -> object:
    """A condition keeping only each person's current row in each item (the highest period):
    the one owner of "current enrolment" for lists over many people. With `shown_at`, what the
    learner sees then: a later period made ahead and hidden until its day is not current yet,
    so the period they completed stays current until the next one shows."""
    later = aliased(Enrolment)
    conditions = [
        later.user_id == row.user_id,  # type: ignore[attr-defined]
        later.item_id == row.item_id,  # type: ignore[attr-defined]
        later.period > row.period,  # type: ignore[attr-defined]
    ]
    if shown_at is not None:
        conditions.append(or_(later.visible_from.is_(None), later.visible_from <= shown_at))
    return ~exists().where(*conditions)


def bucket_of(now: datetime) -> object:
    """The SQL of an enrolment's place: 0 overdue, 1 due soon, 2 the rest (completed too)."""
    is_open = Enrolment.status == EnrolmentStatus.ENROLLED
    return case(
        (and_(is_open, Enrolment.due_at < now), Bucket.OVERDUE.value),
        (and_(is_open, Enrolment.due_at <= now + DUE_SOON), Bucket.DUE_SOON.value),
        else_=Bucket.REST.value,
    )


def _visible(now: datetime) -> object:
    return or_(Enrolment.visible_from.is_(None), Enrolment.visible_from <= now)


async def my_learning(
    session: AsyncSession,
    user: User,
    *,
    signer: LinkSigner,
    public_url: str,
    now: datetime | None = None,
) -> MyLearning:
    """Everything My learning shows `user`, at `now`."""
    now = now or utcnow()
    all_muted, muted = await mutes(session, user.id)
    rows, open_total = await _open_rows(session, user.id, now)
    done, done_total = await _completed_rows(session, user.id, now)
    sources = await _sources(session, [r[0] for r in rows + done])
    entries = [_entry(r, sources, all_muted or r[0].item_id in muted) for r in rows]
    by_bucket = {b: tuple(e for e in entries if e.bucket is b) for b in Bucket}
    titles = (
        dict(
            (
                await session.execute(
                    select(CatalogItem.id, CatalogItem.title).where(CatalogItem.id.in_(muted))
                )
            ).all()
        )
        if muted
        else {}
    )
    return MyLearning(
        now=now,
        overdue=by_bucket[Bucket.OVERDUE],
        due_soon=by_bucket[Bucket.DUE_SOON],
        rest=by_bucket[Bucket.REST],
        more_open=max(0, open_total - len(entries)),
        completed=tuple(_entry(r, sources, False) for r in done),
        completed_total=done_total,
        featured=await featured_for(session, user, signer=signer, public_url=public_url),
        all_muted=all_muted,
        muted_items=tuple(sorted(titles.items(), key=lambda t: t[1].lower())),
    )


def _columns() -> tuple:
    return (
        Enrolment,
        CatalogItem,
        EnrolmentLink.label,
        RegistrationToken.nickname,
        User.first_name,
        User.last_name,
        User.email,
    )


def _joined(query):  # type: ignore[no-untyped-def]
    return (
        query.join(CatalogItem, CatalogItem.id == Enrolment.item_id)
        .outerjoin(EnrolmentLink, EnrolmentLink.id == Enrolment.link_id)
        .outerjoin(RegistrationToken, RegistrationToken.id == Enrolment.registration_token_id)
        .outerjoin(User, User.id == Enrolment.enrolled_by_user_id)
    )


async def _open_rows(session: AsyncSession, user_id: int, now: datetime) -> tuple[list, int]:
    """The first OPEN_SHOWN open enrolments in their order, and how many there are."""
    place = bucket_of(now)
    where = (
        Enrolment.user_id == user_id,
        Enrolment.status == EnrolmentStatus.ENROLLED,
        _visible(now),
        latest_period(Enrolment, now),
    )
    query = _joined(select(*_columns(), place.label("bucket"))).where(*where)  # type: ignore[attr-defined]
    query = query.order_by(
        place, Enrolment.due_at.is_(None), Enrolment.due_at, CatalogItem.title, CatalogItem.id
    ).limit(OPEN_SHOWN)
    rows = list(await session.execute(query))
    if len(rows) < OPEN_SHOWN:
        return rows, len(rows)
    total = await session.scalar(select(func.count()).select_from(Enrolment).where(*where))
    return rows, int(total or 0)


async def _completed_rows(session: AsyncSession, user_id: int, now: datetime) -> tuple[list, int]:
    where = (
        Enrolment.user_id == user_id,
        Enrolment.status == EnrolmentStatus.COMPLETED,
        _visible(now),
        latest_period(Enrolment, now),
    )
    total = await session.scalar(select(func.count()).select_from(Enrolment).where(*where))
    rows = await session.execute(
        _joined(select(*_columns(), literal(Bucket.REST.value)))
        .where(*where)
        .order_by(Enrolment.completed_at.desc(), Enrolment.id.desc())
        .limit(COMPLETED_SHOWN)
    )
    return list(rows), int(total or 0)


async def _sources(session: AsyncSession, enrolments: list[Enrolment]) -> dict[int, str]:
    """What each rule's audience is, short ("Sales department"), by rule id: two queries."""
    rule_ids = {e.rule_id for e in enrolments if e.rule_id}
    if not rule_ids:
        return {}
    named: dict[int, list[str]] = {}
    groups = await session.execute(
        select(RuleGroup.rule_id, Group.name, Group.kind)
        .join(Group, Group.id == RuleGroup.group_id)
        .where(RuleGroup.rule_id.in_(rule_ids))
        .order_by(Group.name)
    )
    for rule_id, name, kind in groups:
        named.setdefault(rule_id, []).append(
            name if kind is GroupKind.GROUP else f"{name} {kind.value}"
        )
    conditions = await session.execute(
        select(RuleCondition.rule_id, RuleCondition.field, RuleCondition.value)
        .where(RuleCondition.rule_id.in_(rule_ids))
        .order_by(RuleCondition.field, RuleCondition.value)
    )
    for rule_id, field_, value in conditions:
        named.setdefault(rule_id, []).append(f"{value} {field_}")
    return {rule_id: " or ".join(names) for rule_id, names in named.items()}


def _entry(
    row: object,
    audiences: dict[int, str],
    muted: bool,
) -> Entry:
    e, item, label, nickname, first, last, email = row[:7]  # type: ignore[index]
    enroller = f"{first or ''} {last or ''}".strip() or email
    audience = audiences.get(e.rule_id) if e.rule_id else None
    return Entry(
        item_id=item.id,
        slug=item.slug,
        title=item.title,
        kind=item.kind.value,
        bucket=Bucket(row[7]),  # type: ignore[index]
        required=e.required,
        due_at=e.due_at,
        source=source_text(
            e.source, label=label, token=nickname, by=enroller, rule=audience, rule_id=e.rule_id
        ),
        url=item.url,
        muted=muted,
        completed_at=e.completed_at,
    )


async def featured_for(
    session: AsyncSession, user: User, *, signer: LinkSigner, public_url: str
) -> tuple[Featured, ...]:
    """The featured items of the person's organisation that they are not enrolled in (a
    withdrawn one may be taken again), each with its active default link's token."""
    mine = exists().where(
        Enrolment.user_id == user.id,
        Enrolment.item_id == CatalogItem.id,
        Enrolment.status != EnrolmentStatus.WITHDRAWN,
        latest_period(Enrolment),
    )
    rows = await session.execute(
        select(CatalogItem, EnrolmentLink)
        .join(
            EnrolmentLink,
            and_(EnrolmentLink.item_id == CatalogItem.id, EnrolmentLink.is_default.is_(True)),
        )
        .where(
            CatalogItem.organisation_id == user.organisation_id,
            CatalogItem.featured.is_(True),
            EnrolmentLink.is_active.is_(True),
            EnrolmentLink.secret.is_not(None),
            ~mine,
        )
        .order_by(CatalogItem.title, CatalogItem.id)
        .limit(FEATURED_SHOWN)
    )
    found = []
    for item, link in rows:
        token = links.token_for(signer, link)
        found.append(
            Featured(
                item.id,
                item.slug,
                item.title,
                item.kind.value,
                token,
                links.deep_link(public_url, token),
            )
        )
    return tuple(found)


# Featuring -------------------------------------------------------------------------------------


async def feature(session: AsyncSession, item: CatalogItem, on: bool) -> bool:
    """Feature or unfeature an item; False when it already was so."""
    if item.featured == on:
        return False
    await session.execute(update(CatalogItem).where(CatalogItem.id == item.id).values(featured=on))
    item.featured = on
    return True


# Mutes -----------------------------------------------------------------------------------------


async def mutes(session: AsyncSession, user_id: int) -> tuple[bool, set[int]]:
    """Whether the person muted all reminders, and the items they muted one by one."""
    rows = (
        await session.execute(select(ReminderMute.item_id).where(ReminderMute.user_id == user_id))
    ).scalars()
    items = set()
    everything = False
    for item_id in rows:
        if item_id is None:
            everything = True
        else:
            items.add(item_id)
    return everything, items


async def mute(session: AsyncSession, user_id: int, item_id: int | None) -> bool:
    """Mute reminders of one item (None: of everything); False when already muted. Once
    however often it is pressed, even twice at once (the table's unique indexes)."""
    values = {"user_id": user_id, "item_id": item_id, "created_at": utcnow()}
    if await insert_ignoring_conflict(session, ReminderMute, values) is None:
        return False
    await changed_people(session, [user_id])
    return True


async def unmute(session: AsyncSession, user_id: int, item_id: int | None) -> bool:
    """Unmute one item (None: the mute of everything); False when it was not muted."""
    same = ReminderMute.item_id.is_(None) if item_id is None else ReminderMute.item_id == item_id
    gone = await session.execute(delete(ReminderMute).where(ReminderMute.user_id == user_id, same))
    if not gone.rowcount:
        return False
    await changed_people(session, [user_id])
    return True


async def changed_people(session: AsyncSession, user_ids: list[int]) -> None:
    """Queue the Home tabs of people whose My learning changed here (handlers.refresh)."""
    from handlers import refresh

    await refresh.changed(session, user_ids)
