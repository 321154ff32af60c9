"""Another process holding the database's write lock while a real `enrolbot serve` takes clicks:
they are acknowledged and answered, and survive the bot being killed before it could commit."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Awaitable, Iterator
from contextlib import closing, contextmanager
from typing import TypeVar

import httpx
from sqlalchemy.engine import make_url

from store.models import AuditEvent, Enrolment, PendingClick
from tests.support.processes import Server
from tests.support.served_clicks import click, people, prepare, settings, standin, token_of
from tests.support.servers import ServedApp
from tests.support.slack_world import text_of

T = TypeVar("T")


@contextmanager
def write_lock_held(db_url: str, seconds: float) -> Iterator[None]:
    """Another process's hold on the database's writes for `seconds` (as `catalog import` held
    SQLite's write lock; on PostgreSQL, an exclusive lock on the enrolment table), taken by the
    time the block starts."""
    taken, failed = threading.Event(), []

    def sqlite_hold() -> None:
        with closing(sqlite3.connect(make_url(db_url).database, isolation_level=None)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            taken.set()
            time.sleep(seconds)
            conn.execute("COMMIT")

    async def postgresql_hold() -> None:
        import asyncpg

        dsn = make_url(db_url).set(drivername="postgresql").render_as_string(False)
        conn = await asyncpg.connect(dsn)
        try:
            async with conn.transaction():
                await conn.execute("LOCK TABLE enrolment IN EXCLUSIVE MODE")
                taken.set()
                await asyncio.sleep(seconds)
        finally:
            await conn.close()

    def hold() -> None:
        try:
            sqlite_hold() if db_url.startswith("sqlite") else asyncio.run(postgresql_hold())
        except Exception as exc:
            failed.append(exc)
            taken.set()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    taken.wait(10)
    assert not failed, failed
    try:
        yield
    finally:
        thread.join(seconds + 10)


def test_while_another_process_holds_the_write_lock_clicks_are_acknowledged_and_answered(
    db_url, tmp_path
):
    count = 10
    db = prepare(db_url, count)
    token = token_of(db)
    slack = standin(count)
    with ServedApp(slack.app) as served:
        slack.url = served.url
        server = Server(tmp_path, **settings(db_url, slack))
        try:
            server.wait_healthy()

            async def timed(work: Awaitable[T]) -> tuple[float, T]:
                started = time.monotonic()
                result = await work
                return time.monotonic() - started, result

            async def during_the_lock() -> tuple[list, list]:
                async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                    clicks = [
                        asyncio.ensure_future(timed(click(client, slack, uid, token)))
                        for uid, _ in people(count)
                    ]
                    health = []
                    for _ in range(5):
                        await asyncio.sleep(0.5)
                        health.append(await timed(client.get("/healthz")))
                    return await asyncio.gather(*clicks), health

            with write_lock_held(db_url, 10):
                clicked, health = asyncio.run(during_the_lock())
            for seconds, [(status, _)] in clicked:
                assert (status, seconds < 3) == (200, True), (status, seconds)
            for seconds, response in health:
                assert (response.status_code, seconds < 1) == (200, True), (response, seconds)
            replies = [
                text_of(slack.wait_response(url, timeout=30)[0]) for _, [(_, url)] in clicked
            ]
        finally:
            server.stop()
    assert ["You're enrolled in Safety 101." in reply for reply in replies] == [True] * count
    assert db.count(Enrolment) == count + 1  # + Dan, who had completed it before
    assert db.count(AuditEvent, AuditEvent.action == "enrol.enrolled") == count
    assert db.count(AuditEvent, AuditEvent.action.like("enrol.%")) == count


def test_clicks_acknowledged_while_another_process_holds_the_write_lock_survive_a_kill(
    db_url, tmp_path
):
    count = 10
    db = prepare(db_url, count)
    token = token_of(db)
    slack = standin(count)
    # On SQLite the clicks go to a journal beside the database; PostgreSQL's lock is on the
    # enrolment table only, so their pending_click rows are written in time.
    journal = f"{make_url(db_url).database}.clicks" if db_url.startswith("sqlite") else None
    with ServedApp(slack.app) as served:
        slack.url = served.url
        server = Server(tmp_path, **settings(db_url, slack))
        server.wait_healthy()

        async def clicks() -> list[list[tuple[int, str]]]:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                return await asyncio.gather(
                    *(click(client, slack, uid, token) for uid, _ in people(count))
                )

        # The bot dies while the lock is still held: nothing could be committed, nor written
        # into pending_click, before it acknowledged every click.
        with write_lock_held(db_url, 8):
            clicked = asyncio.run(clicks())
            os.kill(server.process.pid, signal.SIGKILL)
        server.stop()
        assert [status for [(status, _)] in clicked] == [200] * count
        assert db.count(Enrolment) == 1  # only Dan, who had completed it before

        restarted = Server(tmp_path, **settings(db_url, slack))
        try:
            restarted.wait_healthy()
            replies = [text_of(slack.wait_response(url, timeout=30)[0]) for [(_, url)] in clicked]
            time.sleep(1)  # a second answer, were there one, would have come by now
        finally:
            restarted.stop()
    # Every acknowledged click ended enrolled and was told so, once.
    assert ["You're enrolled in Safety 101." in reply for reply in replies] == [True] * count
    assert all(len(slack.responses[url.rsplit("/", 1)[1]]) == 1 for [(_, url)] in clicked)
    assert db.count(Enrolment) == count + 1
    assert db.count(AuditEvent, AuditEvent.action == "enrol.enrolled") == count
    assert db.count(PendingClick) == 0
    if journal:  # emptied once its clicks were in the database; only its owner reads it
        assert os.stat(journal).st_mode & 0o777 == 0o600  # it holds response_urls
        assert os.path.getsize(journal) == 0
