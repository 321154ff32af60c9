"""`tokens import`: create or update registration tokens from a spreadsheet (.csv or .xlsx) with
the columns item,nickname[,status], all or nothing (seed 001's "Tokens bulk upload").

A row names a token by its item and nickname: one the item already has is switched to the
row's status; any other is created, with a new code. The whole file is read and checked first
(every wrong row named by its line), a plan is shown, and the plan is carried out in one
transaction, after checking that nothing changed in between. Token files are small (a campaign
has a handful of tokens), so the rows are held in memory, up to MAX_ROWS.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import audit, catalog, tokens
from handlers.csvfile import TOKENS, FileProblem, RowProblem, RowProblems, read
from handlers.signing import LinkSigner
from store.models import CatalogItem, ItemSource, RegistrationToken

MAX_ROWS = 5000
MAX_PROBLEMS = 20
ACTOR = "enrolbot tokens import"
STATUSES = {"active": True, "deactivated": False}


class Action(enum.StrEnum):
    CREATE = "create"
    ACTIVATE = "activate"
    DEACTIVATE = "deactivate"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class TokenRow:
    line: int
    slug: str
    nickname: str
    active: bool


@dataclass(frozen=True)
class Step:
    row: TokenRow
    action: Action
    title: str
    token_id: int | None = None  # the existing token a row names

    def describe(self) -> str:
        r = self.row
        status = "active" if r.active else "deactivated"
        if self.action is Action.CREATE:
            return f"line {r.line}: create a token “{r.nickname}” for {r.slug} ({status})"
        name = f"t{self.token_id} “{r.nickname}” of {r.slug}"
        if self.action is Action.UNCHANGED:
            return f"line {r.line}: {name} is already {status}; unchanged"
        return f"line {r.line}: {self.action.value} {name}"


@dataclass(frozen=True)
class Created:
    step: Step
    token_id: int
    code: str


Problems = list[tuple[int, str]]


def read_rows(path: Path) -> tuple[list[TokenRow], Problems]:
    """The file's rows that are right on their own, and what is wrong with the others (by
    line); FileProblem for a file that cannot be read."""
    rows: list[TokenRow] = []
    problems: list[tuple[int, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for line, row, problem in read(path, TOKENS):
        if len(rows) + len(problems) >= MAX_ROWS:
            raise FileProblem(line, f"a token file holds at most {MAX_ROWS} rows")
        if row is None:
            problems.append((line, problem or "unreadable row"))
            continue
        try:
            parsed = _parse(line, row)
        except RowProblem as exc:
            problems.append((line, str(exc)))
            continue
        key = (parsed.slug, parsed.nickname.casefold())
        if key in seen:
            problems.append(
                (line, f"{parsed.slug} “{parsed.nickname}” is already on line {seen[key]}")
            )
            continue
        seen[key] = line
        rows.append(parsed)
    if not rows and not problems:
        raise FileProblem(None, "the file has no rows to import")
    return rows, problems


def _parse(line: int, row: dict[str, str]) -> TokenRow:
    slug = row["item"].lower()
    if not slug:
        raise RowProblem("item is empty: give the item's slug")
    nickname = row["nickname"].strip()
    if not nickname:
        raise RowProblem("nickname is empty: each token in a file is named by its nickname")
    if len(nickname) > tokens.NICKNAME_MAX:
        raise RowProblem(f"nickname is longer than {tokens.NICKNAME_MAX} characters")
    status = (row.get("status") or "active").lower()
    if status not in STATUSES:
        raise RowProblem(f"status '{row['status']}' is not one of active, deactivated")
    return TokenRow(line, slug, nickname, STATUSES[status])


def refuse(problems: Problems) -> None:
    """RowProblems naming every wrong row in line order, when there are any."""
    if problems:
        problems = sorted(problems)
        raise RowProblems(problems[:MAX_PROBLEMS], len(problems))


async def plan(
    session: AsyncSession, organisation_id: int, rows: list[TokenRow]
) -> tuple[list[Step], Problems]:
    """What the rows would do now, and the rows the database refuses (by line)."""
    slugs = {r.slug for r in rows}
    items = {
        i.slug: i
        for i in (
            await session.execute(
                select(CatalogItem).where(
                    CatalogItem.organisation_id == organisation_id, CatalogItem.slug.in_(slugs)
                )
            )
        ).scalars()
    }
    existing: dict[tuple[int, str], RegistrationToken] = {}
    for token in (
        await session.execute(
            select(RegistrationToken).where(
                RegistrationToken.item_id.in_([i.id for i in items.values()]),
                RegistrationToken.deleted_at.is_(None),
                RegistrationToken.nickname.is_not(None),
            )
        )
    ).scalars():
        existing.setdefault((token.item_id, (token.nickname or "").casefold()), token)
    steps, problems = [], []
    every_slug: list[str] | None = None
    for row in rows:
        item = items.get(row.slug)
        if item is None:
            if every_slug is None:  # read once, only when a slug names no item
                every_slug = await catalog.all_slugs(session, organisation_id)
            near = catalog.closest(row.slug, every_slug)
            hint = f"; did you mean '{near}'?" if near else ""
            problems.append((row.line, f"there is no item '{row.slug}'{hint}"))
            continue
        if item.source is ItemSource.LIBRARY:
            problems.append(
                (row.line, f"{row.slug} is a library item; tokens are only for your own items")
            )
            continue
        token = existing.get((item.id, row.nickname.casefold()))
        if token is None:
            steps.append(Step(row, Action.CREATE, item.title))
        elif token.is_active == row.active:
            steps.append(Step(row, Action.UNCHANGED, item.title, token.id))
        else:
            action = Action.ACTIVATE if row.active else Action.DEACTIVATE
            steps.append(Step(row, action, item.title, token.id))
    return steps, problems


class PlanChanged(Exception):
    """The tokens changed between the preview and the go-ahead; nothing was written."""


async def apply(
    session: AsyncSession,
    signer: LinkSigner,
    organisation_id: int,
    rows: list[TokenRow],
    previewed: list[Step],
) -> list[Created]:
    """Carry out the plan that was previewed, in the caller's transaction; PlanChanged if the
    database no longer gives the same plan."""
    steps, problems = await plan(session, organisation_id, rows)
    if problems or steps != previewed:
        raise PlanChanged
    created: list[Created] = []
    for step in steps:
        if step.action is Action.UNCHANGED:
            continue
        if step.action is Action.CREATE:
            item = await _item(session, organisation_id, step.row.slug)
            token, code = await tokens.create_token(
                session,
                signer,
                item,
                nickname=step.row.nickname,
                created_by_user_id=None,
                active=step.row.active,
            )
            created.append(Created(step, token.id, code))
            token_id, action = token.id, "token.created"
        else:
            found = await session.get(RegistrationToken, step.token_id)
            assert found is not None
            tokens.set_active(found, step.row.active)
            token_id, action = found.id, f"token.{step.action.value}d"
            item = await _item(session, organisation_id, step.row.slug)
        await audit.record(
            session,
            organisation_id=organisation_id,
            action=action,
            actor=ACTOR,
            item_id=item.id,
            token_id=token_id,
            nickname=step.row.nickname,
        )
    return created


async def _item(session: AsyncSession, organisation_id: int, slug: str) -> CatalogItem:
    return (
        await session.execute(
            select(CatalogItem).where(
                CatalogItem.organisation_id == organisation_id, CatalogItem.slug == slug
            )
        )
    ).scalar_one()


def counts(steps: list[Step]) -> dict[Action, int]:
    found = dict.fromkeys(Action, 0)
    for step in steps:
        found[step.action] += 1
    return found
