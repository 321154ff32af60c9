"""Invitations (seed 003): 500 invitations from `enrolbot invite import FILE --yes`, sent by a
running `enrolbot serve` to a real SMTP server on loopback (aiosmtpd) that takes
BENCH_SMTP_SECONDS per message (default 0.02: a mail server's pace), the service killed
(SIGKILL) once half of them arrived and started again: every address must get its invitation.

    python -m bench.invitations
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from pathlib import Path

from aiosmtpd.controller import Controller

from bench import common as c
from tests.support.processes import Server, enrolbot, free_port

PEOPLE = int(c.knob("BENCH_INVITES", 500))
SMTP_SECONDS = c.knob("BENCH_SMTP_SECONDS", 0.02)


class PacedInbox:
    """Keeps every recipient; answers each message after SMTP_SECONDS, as a real server's pace."""

    def __init__(self) -> None:
        self.received: list[str] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's hook
        await asyncio.sleep(SMTP_SECONDS)
        self.received.extend(envelope.rcpt_tos)
        return "250 OK"


def _seed_group(db_url: str) -> None:
    from handlers import directory
    from handlers.organisations import default_organisation
    from store.models import GroupKind, GroupSource
    from tests.support.syncdb import SyncDB

    async def work(session) -> None:
        org = await default_organisation(session)
        await directory.named_groups(
            session, org.id, GroupKind.GROUP, ["Newcomers"], create=GroupSource.MANUAL
        )

    SyncDB(db_url).run(work)


def _wait(inbox: PacedInbox, count: int, seconds: float) -> float:
    began = time.monotonic()
    while len(set(inbox.received)) < count and time.monotonic() - began < seconds:
        time.sleep(0.02)
    return time.monotonic() - began


def main() -> None:
    c.header(f"invitations: {PEOPLE} through the outbox, the service killed halfway")
    work = Path(tempfile.mkdtemp(prefix="bench-invites-"))
    db_url = f"sqlite+aiosqlite:///{work / 'bench.db'}"
    settings = {"DATABASE_URL": db_url, "ENROLBOT_SECRET_KEY": c.SECRET_KEY}
    assert enrolbot("db", "upgrade", cwd=work, **settings).returncode == 0
    _seed_group(db_url)
    inbox = PacedInbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    settings |= {"SMTP_URL": f"smtp://127.0.0.1:{port}?from=training@acme.test"}
    settings |= {"ENROLBOT_DELIVERY_SECONDS": "0.2", "ENROLBOT_DELIVERY_LEASE_SECONDS": "10"}
    sheet = work / "people.csv"
    sheet.write_text(
        "email,group\n" + "".join(f"p{n}@outside.test,Newcomers\n" for n in range(PEOPLE))
    )
    try:
        began = time.monotonic()
        done = enrolbot("invite", "import", str(sheet), "--yes", cwd=work, **settings)
        assert done.returncode == 0, done.stdout + done.stderr
        written = time.monotonic() - began
        first = Server(work, **settings)
        first.wait_ready()
        half = _wait(inbox, PEOPLE // 2, 120)
        os.kill(first.pid, signal.SIGKILL)  # a crash: no shutdown, leases left held
        first.process.wait()
        at_kill = len(set(inbox.received))
        second = Server(work, **settings)
        second.wait_ready()
        rest = _wait(inbox, PEOPLE, 300)
        second.stop()
    finally:
        smtp.stop()
    got = set(inbox.received)
    lost = PEOPLE - len(got)
    c.line("invitations written (import, one transaction)", f"{written:.2f} s")
    c.line("half sent by the first service", f"{half:.2f} s", f"{PEOPLE // 2} at its pace")
    c.line("received when the service was killed", f"{at_kill}")
    c.line("rest sent after the restart", f"{rest:.2f} s")
    pace = PEOPLE / (half + rest)
    c.line("pace over both runs", f"{pace:.0f}/s", f"server's {1 / SMTP_SECONDS:.0f}/s per lane")
    c.line("lost", f"{lost}", "0", ok=lost == 0)
    c.line("sent twice (at least once, by design)", f"{len(inbox.received) - len(got)}")


if __name__ == "__main__":
    main()
