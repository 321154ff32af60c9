"""A file beside an SQLite database for the clicks it could not take in time.

While another process holds SQLite's write lock (a `catalog import`, a backup), a slow click
cannot be written into pending_click before Slack's three seconds run out. It is appended here
instead, one JSON line per click, flushed and synced to disk before its acknowledgement, and
crossed out with a second line (`{"done": id}`) once answered. The sweep of pending clicks
(bot.clicks) moves the lines of dead processes into pending_click and removes every line that is
in the database or answered. The file holds response_urls, so only its owner may read it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.clicks import Click
from handlers.identity import Account
from store.db import sqlite_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    """A click in the journal: its id there, and the process that wrote it."""

    id: str
    owner: str
    click: Click


def _line(entry: Entry) -> str:
    click = entry.click
    fields = {
        "provider": click.account.provider,
        "tenant_key": click.account.tenant_key,
        "subject": click.account.subject,
        "token": click.token,
        "reply_to": click.reply_to,
        "channel": click.channel,
        "home_tenant": click.home_tenant,
        "home_org": click.home_org,
        "received_at": click.received_at.isoformat() if click.received_at else None,
    }
    return json.dumps({"id": entry.id, "owner": entry.owner, "click": fields}) + "\n"


def _entry(data: dict) -> Entry:
    fields = data["click"]
    received = fields["received_at"]
    click = Click(
        Account(fields["provider"], fields["tenant_key"], fields["subject"]),
        fields["token"],
        fields["reply_to"],
        fields["channel"],
        fields["home_tenant"],
        fields["home_org"],
        datetime.fromisoformat(received) if received else None,
    )
    return Entry(str(data["id"]), str(data["owner"]), click)


class ClickJournal:
    """Blocking file work: call it from a thread (asyncio.to_thread). One lock keeps an append
    from landing between a sweep's read and its rewrite."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()

    @classmethod
    def beside(cls, engine: AsyncEngine) -> ClickJournal | None:
        """The journal of an SQLite database file; None for PostgreSQL or memory."""
        database = sqlite_path(engine)
        return cls(f"{database}.clicks") if database else None

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def append(self, entry: Entry) -> None:
        self._write(_line(entry))

    def append_done(self, entry_id: str) -> None:
        self._write(json.dumps({"done": entry_id}) + "\n")

    def _write(self, line: str) -> None:
        with self._lock:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "r+b") as file:
                if file.seek(0, os.SEEK_END) > 0:
                    file.seek(-1, os.SEEK_END)
                    if file.read(1) != b"\n":
                        line = "\n" + line  # after a line torn by a crash: a line of our own
                file.write(line.encode())
                file.flush()
                os.fsync(file.fileno())

    def read(self) -> tuple[list[Entry], set[str]]:
        """The clicks in the journal and the ids of those answered. A line that does not parse
        (torn by a crash mid-write) is skipped, with a log line."""
        with self._lock:
            return self._read()

    def _read(self) -> tuple[list[Entry], set[str]]:
        entries: list[Entry] = []
        done: set[str] = set()
        try:
            with open(self.path, encoding="utf-8", errors="replace") as file:
                lines = file.read().splitlines()
        except FileNotFoundError:
            return entries, done
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if "done" in data:
                    done.add(str(data["done"]))
                else:
                    entries.append(_entry(data))
            except (ValueError, KeyError, TypeError, AttributeError):
                log.warning(
                    "skipped line %d of the click journal %s: unreadable, torn by a crash "
                    "mid-write or altered",
                    number,
                    self.path,
                )
        return entries, done

    def drop(self, ids: set[str]) -> None:
        """Rewrite the journal without the lines of `ids` (and without unreadable lines), keeping
        what was appended since it was read. Replaced in one step, so a crash leaves either the
        old journal or the new one."""
        with self._lock:
            entries, done = self._read()
            if not entries and not done:
                return
            kept = [_line(e) for e in entries if e.id not in ids]
            kept += [json.dumps({"done": d}) + "\n" for d in sorted(done - ids)]
            temporary = f"{self.path}.new"
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write("".join(kept).encode())
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
            directory = os.open(os.path.dirname(os.path.abspath(self.path)), os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
