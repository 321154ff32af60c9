"""`invite import` from chat: the file's rows kept between the preview and Send invitations.

A preview that could be sent stages the rows as read (a row of `invite_import`), and its Send
invitations button carries the signed id of that row, good for an hour. Pressed, the rows are
checked again against the database as it is then (a group may be gone, someone invited in the
meantime), and only if no row needs fixing are the invitations written, in one transaction
with their emails in the outbox (handlers.invitations.invite, which audits each). The row is
claimed by a conditional update in that transaction, so a second press, or two workers
answering two presses, send once.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import invitations
from handlers.invitations_import import plan
from handlers.invite_import_text import (
    NOT_YOURS,
    SENT_ALREADY,
    preview_notice,
    sent_notice,
)
from handlers.replies import Notice
from handlers.staged_signer import PENDING_SECONDS, StagedSigner
from store.models import InviteImport, Organisation, utcnow

Rows = list[tuple[int, list[str]]]


class InviteImportSigner(StagedSigner):
    """The signed id a Send invitations button carries."""

    def __init__(self, keys: tuple[str, ...] | list[str]) -> None:
        super().__init__(keys, "enrolbot.invite-import")


async def stage(
    session: AsyncSession, org_id: int, by_user_id: int, filename: str, rows: Rows
) -> int:
    """Keep a previewed file's rows until Send invitations; the staged import's id."""
    await _forget_expired(session, org_id)
    staged = InviteImport(
        organisation_id=org_id,
        by_user_id=by_user_id,
        filename=filename[:255],
        rows=[[line, cells] for line, cells in rows],
        row_count=len(rows),
        created_at=utcnow(),
    )
    session.add(staged)
    await session.flush()
    return staged.id


async def _forget_expired(session: AsyncSession, org_id: int) -> None:
    """Previews never sent stop holding people's emails once their button has expired."""
    await session.execute(
        delete(InviteImport).where(
            InviteImport.organisation_id == org_id,
            InviteImport.sent_at.is_(None),
            InviteImport.created_at < utcnow() - timedelta(seconds=PENDING_SECONDS),
        )
    )


async def send(
    session: AsyncSession,
    organisation: Organisation,
    import_id: int,
    *,
    by_user_id: int,
    by: str,
    by_name: str = "",
) -> Notice:
    """Send a staged import's invitations, if it is this admin's and not sent yet, and its rows
    still need no fixing; what the admin is told. The caller commits."""
    staged = await session.get(InviteImport, import_id)
    if staged is None or staged.organisation_id != organisation.id:
        return NOT_YOURS
    if staged.by_user_id != by_user_id:
        return NOT_YOURS
    if staged.sent_at is not None:
        return SENT_ALREADY
    rows = [(int(line), [str(cell) for cell in cells]) for line, cells in staged.rows]
    found = await plan(session, organisation, rows)
    if not found.ready:
        return preview_notice(found, staged.filename, changed=True)
    claimed = await session.execute(
        update(InviteImport)
        .where(InviteImport.id == import_id, InviteImport.sent_at.is_(None))
        .values(sent_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # another press, answered by another worker, came first
        return SENT_ALREADY
    done = await invitations.invite(
        session, organisation, found.rows, by=by, by_user_id=by_user_id, by_name=by_name
    )
    invited = len(done.of(invitations.Invited.INVITED))
    await session.execute(
        update(InviteImport)
        .where(InviteImport.id == import_id)
        .values(invited=invited, rows=[])  # the invitations hold what is kept of them
        .execution_options(synchronize_session=False)
    )
    return sent_notice(invited)
