"""A spreadsheet of invitations that reached the bot in chat (a Slack modal's file, a file sent
in the Teams personal chat): who may send it, which import a file is for, its preview with a
signed Send invitations id, and Send. The platform adapters fetch the bytes and render; the
checks are handlers.invitations_import's, the staging handlers.invitations_staged's."""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from bot.enrol_imports import MAX_BYTES
from bot.runtime import Runtime
from handlers import admins
from handlers import invitations_import as sheet
from handlers import invitations_staged as staged
from handlers.commands import CommandContext
from handlers.csvfile import FileProblem
from handlers.invite_import_text import (
    EXPIRED,
    NO_EMAIL,
    NOT_ALLOWED,
    TOO_BIG,
    InvitePreview,
    preview_notice,
    unreadable,
)
from handlers.replies import Notice, Tone

T = TypeVar("T")
SAYS_INVITE = re.compile(r"\binvite\s+import\b", re.IGNORECASE)


@dataclass(frozen=True)
class Inviter:
    """An admin who may send invitations from chat."""

    user_id: int
    by: str  # the account, as audit rows name it
    name: str


async def inviter_of(ctx: CommandContext) -> Inviter | Notice:
    """The caller as an inviter, or why they cannot invite: not an admin, or no mail server."""
    user = ctx.caller.user
    if user is None or await admins.role_of(ctx.session, user, ctx.bootstrap_admins) is None:
        return NOT_ALLOWED
    if not ctx.can_email:
        return Notice(NO_EMAIL, Tone.ERROR)
    return Inviter(user.id, str(ctx.account), user.full_name or "")


def _in_a_file(data: bytes, filename: str, read: Callable[[Path], T]) -> T:
    """`read` of the bytes as a file named like the upload (its suffix says CSV or .xlsx)."""
    with tempfile.TemporaryDirectory(prefix="enrolbot-invites-") as folder:
        path = Path(folder) / f"upload{Path(filename).suffix.lower() or '.csv'}"
        path.write_bytes(data)
        return read(path)


async def is_for_invitations(words: str, data: bytes, filename: str) -> bool:
    """Which import a file sent to the bot is for: invitations when the message says `invite
    import`, or when the file's first row is email, group[, type]; else an enrolment template."""
    if SAYS_INVITE.search(words or ""):
        return True
    if len(data) > MAX_BYTES:
        return False
    return await asyncio.to_thread(_in_a_file, data, filename, sheet.looks_like_invitations)


async def preview_bytes(
    runtime: Runtime, inviter: Inviter, data: bytes, filename: str
) -> InvitePreview | Notice:
    """Check the file against the database and, when it could be sent, stage its rows; nothing
    else is written."""
    if len(data) > MAX_BYTES:
        return TOO_BIG
    try:  # openpyxl blocks: not on the event loop
        rows = await asyncio.to_thread(_in_a_file, data, filename, sheet.read)
    except FileProblem as exc:
        return unreadable(filename, exc)
    async with runtime.transaction() as session:
        organisation = await runtime.organisation(session)
        found = await sheet.plan(session, organisation, rows)
        import_id = None
        if found.ready:
            import_id = await staged.stage(
                session, organisation.id, inviter.user_id, filename, rows
            )
    token = None
    if import_id is not None:
        token = staged.InviteImportSigner(runtime.signer.keys).sign(organisation.id, import_id)
    return InvitePreview(preview_notice(found, filename), token)


async def send(runtime: Runtime, inviter: Inviter, token: str) -> Notice:
    """Send the invitations a Send invitations button names (handlers.invitations_staged)."""
    signed = staged.InviteImportSigner(runtime.signer.keys).read(token)
    if signed is None:
        return EXPIRED
    org_id, import_id = signed

    async def work(session) -> Notice:
        organisation = await runtime.organisation(session)
        if organisation.id != org_id:
            return EXPIRED
        return await staged.send(
            session,
            organisation,
            import_id,
            by_user_id=inviter.user_id,
            by=inviter.by,
            by_name=inviter.name,
        )

    return await runtime.transact(work)
