"""A filled enrolment spreadsheet that reached the bot (a Slack modal's file, a file sent in the
Teams personal chat): who may import it, its preview with a signed Start import id, and Start.
The platform adapters fetch the bytes and render; the work is handlers.enrol_import's."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.runtime import Runtime
from handlers import admins
from handlers import enrol_import as sheet
from handlers import enrol_import_start as running
from handlers.commands import CommandContext
from handlers.commands.audience import manages_anyone
from handlers.csvfile import FileProblem
from handlers.enrol_import_text import GONE, ImportPreview, preview_notice, started_notice
from handlers.replies import Notice, Tone
from store.models import EnrolImport

log = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024  # Slack's file_input takes up to 10 MB
SQLITE_REST = 1.0  # after each batch, leave SQLite alone as long as the batch held it
NOT_ALLOWED = Notice(
    "Only enrolment admins, and managers for their direct reports, can enrol people from a "
    "spreadsheet.",
    Tone.ERROR,
)
TOO_BIG = Notice("That file is over 10 MB: split it into smaller files.", Tone.ERROR)


@dataclass(frozen=True)
class Importer:
    """Who is importing: an admin (manager_id None) or a manager, for their reports only."""

    user_id: int
    name: str
    email: str
    manager_id: int | None


async def importer_of(ctx: CommandContext) -> Importer | None:
    """The caller as an importer, or None when they may not import."""
    user = ctx.caller.user
    if user is None:
        return None
    name = user.full_name or user.email
    if await admins.role_of(ctx.session, user, ctx.bootstrap_admins) is not None:
        return Importer(user.id, name, user.email, None)
    if await manages_anyone(ctx.session, user):  # for their direct reports only
        return Importer(user.id, name, user.email, user.id)
    return None


def _suffix(filename: str) -> str:
    return Path(filename).suffix.lower() or ".csv"


async def preview_bytes(
    runtime: Runtime, importer: Importer, data: bytes, filename: str
) -> ImportPreview | Notice:
    """Stage and preview the file; nothing is written but the staged rows."""
    if len(data) > MAX_BYTES:
        return TOO_BIG
    with tempfile.TemporaryDirectory(prefix="enrolbot-sheet-") as folder:
        path = Path(folder) / f"upload{_suffix(filename)}"
        await asyncio.to_thread(path.write_bytes, data)
        async with runtime.transaction() as session:
            org_id = (await runtime.organisation(session)).id
        try:
            import_id = await sheet.stage(
                runtime.sessions,
                org_id,
                path,
                by=importer.email,
                by_user_id=importer.user_id,
                filename=filename,
                rest=SQLITE_REST if runtime.engine.dialect.name == "sqlite" else 0.0,
            )
        except FileProblem as exc:
            return Notice(
                f"{filename}: {exc}. Nothing was imported: fix the file and send it again.",
                Tone.ERROR,
            )
    async with runtime.transaction() as session:
        shown = await sheet.preview(session, org_id, import_id, importer.manager_id)
    token = sheet.ImportSigner(runtime.signer.keys).sign(org_id, import_id) if shown.items else None
    return ImportPreview(preview_notice(shown), token)


async def start(runtime: Runtime, importer: Importer, token: str) -> Notice:
    """Run the import a Start button names, if it is this importer's and still pending."""
    signed = sheet.ImportSigner(runtime.signer.keys).read(token)
    if signed is None:
        return Notice(GONE, Tone.ERROR)
    org_id, import_id = signed
    async with runtime.transaction() as session:
        record = await session.get(EnrolImport, import_id)
        if record is None or record.by_user_id != importer.user_id:
            return Notice(GONE, Tone.ERROR)
    sqlite = runtime.engine.dialect.name == "sqlite"
    try:
        done = await running.start(
            runtime.sessions,
            org_id,
            import_id,
            by_name=importer.name,
            manager_id=importer.manager_id,
            rest=SQLITE_REST if sqlite else 0.0,
        )
    except sheet.ImportGone:
        return Notice(GONE, Tone.ERROR)
    return started_notice(done)
