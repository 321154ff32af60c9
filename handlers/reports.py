"""Reports: who is enrolled in an item, counted by user type and by the way they came in, and
the enrolments themselves as CSV (seed 001: "all reporting ... can be filtered by the type of
user" and "exported as a CSV").

Counting is done by the database (GROUP BY); only the groups, a handful, come back. The CSV's
rows come from one query. The sentences a report's reader sees are written here, once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import admins, audit, csvwrite
from handlers.replies import Notice, ReportReady, Tone, echo, plural
from handlers.signing import ReportClaims
from store.models import (
    CatalogItem,
    Enrolment,
    EnrolmentLink,
    EnrolmentSource,
    EnrolmentStatus,
    RegistrationToken,
    User,
    UserType,
)

# How each way in reads, in the summary and in the CSV's source column.
SOURCE_NAMES = {
    EnrolmentSource.LINK: "link",
    EnrolmentSource.REGISTRATION: "self-registration",
    EnrolmentSource.RULE: "rule",
    EnrolmentSource.MANUAL: "by hand",
    EnrolmentSource.IMPORT: "import (spreadsheet or completions file)",
    EnrolmentSource.INVITATION: "invitation",
    EnrolmentSource.API: "API",
    EnrolmentSource.ASSIGNMENT: "assignment",
}
COLUMNS = (
    "email",
    "first name",
    "last name",
    "user type",
    "status",
    "source",
    "source detail",
    "enrolled at (UTC)",
    "completed at (UTC)",
)
TYPES = ", ".join(t.value for t in UserType)


class ReportError(Exception):
    """A filter that can't be used; the message says what to type instead."""


@dataclass(frozen=True)
class Filters:
    user_type: UserType | None = None
    since: dt.date | None = None

    def describe(self) -> str:
        """Say the filters: " (staff only, enrolled since 2026-09-01)", or "" for none."""
        parts = [f"{self.user_type.value} only"] if self.user_type else []
        if self.since:
            parts.append(f"enrolled since {self.since.isoformat()}")
        return f" ({', '.join(parts)})" if parts else ""


def parse_type(text: str | None) -> UserType | None:
    if text is None:
        return None
    try:
        return UserType(text.strip().lower())
    except ValueError:
        raise ReportError(f"`--type` is one of {TYPES}; “{echo(text)}” isn't.") from None


def parse_since(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ReportError(
            f"`--since` takes a date written YYYY-MM-DD, such as 2026-09-01; “{echo(text)}” "
            "isn't one."
        ) from None


def filters(user_type: str | None, since: str | None) -> Filters:
    """The filters as typed (a command's options, the CLI's), or ReportError saying the form."""
    return Filters(parse_type(user_type), parse_since(since))


@dataclass(frozen=True)
class Report:
    item: CatalogItem
    filters: Filters
    total: int
    completed: int
    by_type: dict[UserType, int]
    by_source: list[tuple[str, int]]  # most first
    csv: bytes = field(repr=False)
    made_at: dt.datetime

    @property
    def filename(self) -> str:
        """e.g. safety-101-enrolments-staff-since-2026-09-01-20261201.csv (slugs are safe)."""
        parts = [self.item.slug, "enrolments"]
        if self.filters.user_type:
            parts.append(self.filters.user_type.value)
        if self.filters.since:
            parts.append(f"since-{self.filters.since.isoformat()}")
        return "-".join([*parts, f"{self.made_at:%Y%m%d}"]) + ".csv"


def _way_in(
    source: EnrolmentSource,
    link_id: int | None,
    label: str | None,
    is_default: bool | None,
    token_id: int | None,
    nickname: str | None,
) -> tuple[str, str]:
    """How an enrolment's way in reads: (in the summary, in the CSV's source detail). A link
    goes by its label ("default link", "link 12" when it has none), a self-registration token
    by its nickname ("token 3" when it has none)."""
    if source is EnrolmentSource.LINK and link_id is not None:
        if label:
            return f"link “{echo(label, 60)}”", label
        name = "default link" if is_default else f"link {link_id}"
        return name, name
    if source is EnrolmentSource.REGISTRATION and token_id is not None:
        if nickname:
            return f"token “{echo(nickname, 60)}”", nickname
        return f"token {token_id}", f"token {token_id}"
    return SOURCE_NAMES[source], ""


def _enrolments(item: CatalogItem, wanted: Filters, *columns: object) -> Select:
    """`columns` of the item's enrolments that pass the filters, with the person and the link
    (if any) joined."""
    query = (
        select(*columns)
        .select_from(Enrolment)
        .join(User, User.id == Enrolment.user_id)
        .outerjoin(EnrolmentLink, EnrolmentLink.id == Enrolment.link_id)
        .outerjoin(RegistrationToken, RegistrationToken.id == Enrolment.registration_token_id)
        .where(Enrolment.item_id == item.id, User.organisation_id == item.organisation_id)
    )
    if wanted.user_type is not None:
        query = query.where(User.type == wanted.user_type)
    if wanted.since is not None:
        start = dt.datetime.combine(wanted.since, dt.time(), tzinfo=dt.UTC)
        query = query.where(Enrolment.enrolled_at >= start)
    return query


# What names an enrolment's way in, selected for both the counts and the rows.
_WAY_IN = (
    Enrolment.source,
    Enrolment.link_id,
    EnrolmentLink.label,
    EnrolmentLink.is_default,
    Enrolment.registration_token_id,
    RegistrationToken.nickname,
)


async def _counts_by_type(
    session: AsyncSession, item: CatalogItem, wanted: Filters
) -> tuple[dict[UserType, int], int]:
    done = func.sum(case((Enrolment.status == EnrolmentStatus.COMPLETED, 1), else_=0))
    rows = await session.execute(
        _enrolments(item, wanted, User.type, func.count(), done).group_by(User.type)
    )
    by_type, completed = {}, 0
    for user_type, count, finished in rows:
        by_type[user_type] = count
        completed += finished or 0
    return by_type, completed


async def _counts_by_source(
    session: AsyncSession, item: CatalogItem, wanted: Filters
) -> list[tuple[str, int]]:
    rows = await session.execute(
        _enrolments(item, wanted, *_WAY_IN, func.count()).group_by(*_WAY_IN)
    )
    counted: dict[str, int] = {}
    for *way_in, count in rows:
        name = _way_in(*way_in)[0]
        counted[name] = counted.get(name, 0) + count
    return sorted(counted.items(), key=lambda pair: (-pair[1], pair[0]))


def _when(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


async def _csv(session: AsyncSession, item: CatalogItem, wanted: Filters) -> bytes:
    query = _enrolments(
        item,
        wanted,
        User.email,
        User.first_name,
        User.last_name,
        User.type,
        Enrolment.status,
        *_WAY_IN,
        Enrolment.enrolled_at,
        Enrolment.completed_at,
    ).order_by(Enrolment.enrolled_at, Enrolment.id)
    rows = await session.execute(query)
    return csvwrite.write(
        COLUMNS,
        (
            (
                email,
                first,
                last,
                user_type.value,
                status.value,
                SOURCE_NAMES[way_in[0]],
                _way_in(*way_in)[1],
                _when(enrolled_at),
                _when(completed_at),
            )
            for (email, first, last, user_type, status, *way_in, enrolled_at, completed_at) in rows
        ),
    )


async def make_report(session: AsyncSession, item: CatalogItem, wanted: Filters) -> Report:
    """The item's enrolments passing `wanted`: counted, and as CSV. Who may see it is the
    caller's to check (the command's role, the download link's signature)."""
    by_type, completed = await _counts_by_type(session, item, wanted)
    return Report(
        item=item,
        filters=wanted,
        total=sum(by_type.values()),
        completed=completed,
        by_type=by_type,
        by_source=await _counts_by_source(session, item, wanted),
        csv=await _csv(session, item, wanted),
        made_at=dt.datetime.now(dt.UTC),
    )


def download_claims(ready: ReportReady) -> ReportClaims:
    """What a download link for this report names, so it can be made again when opened."""
    wanted = ready.report.filters
    return ReportClaims(
        organisation_id=ready.report.item.organisation_id,
        item_id=ready.report.item.id,
        user_type=wanted.user_type.value if wanted.user_type else None,
        since=wanted.since.isoformat() if wanted.since else None,
        admin_user_id=ready.by_user_id,
    )


async def report_for_link(
    session: AsyncSession,
    organisation_id: int,
    claims: ReportClaims,
    bootstrap_admins: frozenset[str],
) -> Report | None:
    """The report a verified download link names, made now; None if it is no longer the
    admin's to see (another organisation, an item gone, admin rights taken away)."""
    item = await session.get(CatalogItem, claims.item_id)
    admin = await session.get(User, claims.admin_user_id)
    if (
        claims.organisation_id != organisation_id
        or item is None
        or item.organisation_id != organisation_id
        or admin is None
        or admin.organisation_id != organisation_id
        or await admins.role_of(session, admin, bootstrap_admins) is None
    ):
        return None
    try:
        wanted = filters(claims.user_type, claims.since)
    except ReportError:
        return None
    made = await make_report(session, item, wanted)
    await audit.record(
        session,
        organisation_id=organisation_id,
        action="report.downloaded",
        actor="report download link",
        actor_user_id=admin.id,
        item_id=item.id,
        type=claims.user_type,
        since=claims.since,
        rows=made.total,
    )
    return made


def summary(report: Report) -> Notice:
    """The short answer beside the CSV: how many, by user type and by way in."""
    title = f"{report.item.title}{report.filters.describe()}"
    if not report.total:
        return Notice(f"No enrolments in {title} yet.", heading=f"Report: {report.item.slug}")
    types = ", ".join(f"{report.by_type.get(t, 0)} {t.value}" for t in UserType)
    sources = ", ".join(f"{name}: {count}" for name, count in report.by_source)
    return Notice(
        f"{plural(report.total, 'enrolment')} in {title}, {report.completed} completed.",
        lines=(f"By user type: {types}.", f"By source: {sources}."),
        heading=f"Report: {report.item.slug}",
    )


def with_line(summary: Notice, line: str, tone: Tone | None = None) -> Notice:
    """The summary with a last line saying where the CSV went (or why it didn't)."""
    return replace(summary, lines=(*summary.lines, line), tone=tone or summary.tone)


# Where the CSV went, said after the summary (each platform delivers it its own way).
CSV_IN_DM = (
    "I've sent you the CSV in a direct message: it names people, so it isn't shared in a channel."
)
CSV_NEEDS_SCOPE = (
    "I couldn't attach the CSV: the Slack app needs the files:write permission. Reinstall it "
    "from manifest.yml, then run the report again."
)
CSV_UPLOAD_FAILED = (
    "I couldn't attach the CSV: Slack refused the upload. Try again in a moment, or run "
    "`enrolbot report ITEM --csv FILE` on the server."
)
CSV_DOWNLOAD = "The download link works for {minutes} minutes, and only while you're an admin."
CSV_DOWNLOAD_BUTTON = "Download the CSV"
CSV_LINK_IN_CHAT = (
    "I've sent you the download link in our personal chat, so only you can open the CSV."
)
CSV_LINK_UNDELIVERED = (
    "I couldn't reach you in our personal chat to send the download link. Open a chat with "
    "me and send `enrol report ITEM` there."
)
CSV_FILE_OFFER = "The CSV of enrolments in {title}, for your OneDrive"
CSV_FILE_GONE = (
    "This report has expired or is no longer yours to see. Send `enrol report ITEM` again for "
    "a new one."
)
CSV_FILE_FAILED = (
    "I couldn't save the CSV to your OneDrive. Use the download button instead, or run the "
    "report again."
)
DOWNLOAD_TITLE = "Enrolment report"
DOWNLOAD_GONE = (
    "This report link has expired or isn't valid. Run the report again for a new link: "
    "`/enrol report ITEM` in Slack, or `enrol report ITEM` to the bot in Teams."
)
