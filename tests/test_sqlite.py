"""SQLite as the service runs it: statements on the event loop (store.sqlite_driver), waits for
another process's write lock that never stop the loop, and the write-ahead log copied into the
database file from a thread rather than by whichever commit filled it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from contextlib import closing

from sqlalchemy import text
from sqlalchemy.engine import make_url

from store.db import checkpoint, make_engine, make_sessionmaker
from tests.support.slack_world import ANN, SlackWorld, text_of


def in_the_file(path: str) -> list[tuple]:
    """Enrolments the database file itself holds: immutable=1 reads it without the log."""
    with closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as conn:
        return conn.execute(
            "SELECT u.email, c.slug, e.status FROM enrolment e"
            " JOIN portal_user u ON u.id = e.user_id JOIN catalog_item c ON c.id = e.item_id"
        ).fetchall()


def test_a_click_reaches_the_database_file_within_seconds_of_its_commit(databases):
    url = databases.fresh("sqlite")
    path = make_url(url).database
    with SlackWorld(url) as world:
        clicked = world.click(ANN, world.posted_button())
        assert "You're enrolled in Safety 101." in text_of(clicked.reply)
        enrolled = ("ann@acme.test", "safety-101", "enrolled")
        assert enrolled in world.db.enrolments()
        deadline = time.monotonic() + 10
        while enrolled not in in_the_file(path) and time.monotonic() < deadline:
            time.sleep(0.2)
        # The service is still running: no closing connection checkpointed it on the way out.
        assert enrolled in in_the_file(path)


async def test_a_write_waiting_for_another_process_lets_the_event_loop_run(databases):
    """Commands and deliveries wait for the lock in place (store.sqlite_driver): the loop goes
    on meanwhile, and the write lands once the lock is free."""
    url = databases.fresh("sqlite")
    engine = make_engine(url)
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with closing(sqlite3.connect(make_url(url).database, isolation_level=None)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            taken.set()
            release.wait(10)
            conn.execute("COMMIT")

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait(5)
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> None:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO organisation (name, sso_auto_provision,"
                    " created_at) VALUES ('Acme', false, CURRENT_TIMESTAMP)"
                )
            )

    ticker = asyncio.ensure_future(ticking())
    writing = asyncio.ensure_future(write())
    try:
        await asyncio.sleep(1)
        assert (writing.done(), ticks > 50) == (False, True)
        release.set()
        await asyncio.wait_for(writing, 5)
    finally:
        release.set()
        ticker.cancel()
        holder.join(5)
        await engine.dispose()
    with closing(sqlite3.connect(make_url(url).database)) as conn:
        assert conn.execute("SELECT name FROM organisation").fetchall() == [("Acme",)]


async def test_fresh_connections_open_while_the_checkpoint_opens_and_closes_its_own(databases):
    """A closing connection holds the file's lock for an instant (it asks for the file to itself,
    to checkpoint if it is the last), and a new connection's first look at the file then met
    "database is locked" at connect: with the checkpoint job (every two seconds) or another
    process closing a connection, a request opening a connection failed now and then."""
    url = databases.fresh("sqlite")
    path = make_url(url).database
    stop = threading.Event()

    def checkpoints() -> None:  # the service's checkpoint job, back to back
        while not stop.is_set():
            checkpoint(path)

    closer = threading.Thread(target=checkpoints)
    closer.start()
    counts = []
    try:
        for _ in range(300):
            engine = make_engine(url)
            try:
                async with engine.connect() as conn:
                    counts.append(await conn.scalar(text("SELECT count(*) FROM organisation")))
            finally:
                await engine.dispose()
    finally:
        stop.set()
        closer.join(5)
    assert counts == [0] * 300


async def test_a_transaction_that_reads_then_writes_waits_for_a_write_of_this_process(databases):
    """Another connection of the same process holds the write lock across an await: the
    transaction that read first waits for it, then writes, rather than failing as locked."""
    engine = make_engine(databases.fresh("sqlite"))
    sessions = make_sessionmaker(engine)
    holding = asyncio.Event()
    add = text(
        "INSERT INTO organisation (name, sso_auto_provision, created_at)"
        " VALUES (:name, false, CURRENT_TIMESTAMP)"
    )

    async def holder() -> None:
        async with sessions() as session, session.begin():
            await session.execute(add, {"name": "Acme"})
            holding.set()
            await asyncio.sleep(0.5)  # a slow call to a platform, the write lock held

    async def reader_then_writer() -> None:
        await holding.wait()
        async with sessions() as session, session.begin():
            await session.scalar(text("SELECT count(*) FROM organisation"))
            await session.execute(add, {"name": "Globex"})
            await session.execute(text("UPDATE organisation SET sso_auto_provision = true"))

    try:
        await asyncio.wait_for(asyncio.gather(holder(), reader_then_writer()), 10)
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT name, sso_auto_provision FROM organisation"))
            assert sorted(rows) == [("Acme", 1), ("Globex", 1)]
    finally:
        await engine.dispose()
