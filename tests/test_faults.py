"""Faults and load against real `enrolbot serve` processes: many clicks with Slack's retries (on
two workers with PostgreSQL, one with SQLite), a worker killed with SIGKILL mid-burst, another
process holding the database's write lock, and the database going away for a while.

Sizes are CI-sized; set ENROLBOT_FAULT_CLICKS=10000 for the full run the issue describes.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Iterator
from contextlib import closing, contextmanager
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from handlers.organisations import default_organisation
from store.models import (
    AuditEvent,
    Enrolment,
    NotificationSubscription,
    OutboxMessage,
    PendingClick,
    User,
)
from tests.support import seed
from tests.support.processes import Server
from tests.support.servers import ServedApp
from tests.support.slack_standin import TEAM, SlackStandIn, member
from tests.support.slack_world import (
    BOT_TOKEN,
    SIGNING_SECRET,
    action_body,
    slack_signature,
    text_of,
)
from tests.support.syncdb import SyncDB
from tests.support.waiting import wait_until

CLICKS = int(os.environ.get("ENROLBOT_FAULT_CLICKS", "1000"))

T = TypeVar("T")


def people(count: int) -> list[tuple[str, str]]:
    return [(f"UL{n:05}", f"learner{n:05}@acme.test") for n in range(count)]


def prepare(db_url: str, count: int, *, subscribe: str | None = None) -> SyncDB:
    db = SyncDB(db_url)
    db.run(seed.organisation())

    async def more(session) -> None:
        org = await default_organisation(session)
        session.add_all(
            User(organisation_id=org.id, email=email, first_name=f"Learner{uid[2:]}", last_name="X")
            for uid, email in people(count)
        )
        if subscribe:
            session.add(
                NotificationSubscription(
                    organisation_id=org.id,
                    item_id=None,
                    provider="slack",
                    tenant_key=TEAM,
                    channel_id=subscribe,
                    channel_name="ops",
                    admin_destination=f"slack:{TEAM}:U0BOSS",
                )
            )

    db.run(more)
    return db


def standin(count: int) -> SlackStandIn:
    slack = SlackStandIn()
    for uid, email in people(count):
        slack.add_user(member(uid, email, f"Learner{uid[2:]}", "X"))
    slack.add_channel("C0OPS")
    return slack


def token_of(db: SyncDB) -> str:
    from handlers.catalog import get_item
    from handlers.links import default_link, token_for
    from handlers.signing import LinkSigner

    async def work(session) -> str:
        org = await default_organisation(session)
        link = await default_link(session, await get_item(session, org.id, "safety-101"))
        return token_for(LinkSigner(["test-key-of-thirty-two-bytes-0123"]), link)

    return db.run(work)


def settings(db_url: str, slack: SlackStandIn, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": db_url,
        "ENROLBOT_SECRET_KEY": "test-key-of-thirty-two-bytes-0123",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": f"{slack.url}/api/",
        "ENROLBOT_DELIVERY_SECONDS": "0.2",
    } | extra


async def click(
    client: httpx.AsyncClient, slack: SlackStandIn, user: str, token: str, *, retries: int = 0
) -> list[tuple[int, str]]:
    """One click, and the same request again as Slack re-sends it; (status, response_url) each."""
    response_url = slack.new_response_url()
    body = action_body(user, "enrol", token, response_url)
    answers = []
    for attempt in range(retries + 1):
        headers = {"Content-Type": "application/x-www-form-urlencoded", **slack_signature(body)}
        if attempt:
            headers |= {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_timeout"}
        try:
            response = await client.post("/slack/events", content=body, headers=headers)
            answers.append((response.status_code, response_url))
        except httpx.TransportError:
            answers.append((0, response_url))
    return answers


def test_many_clicks_with_retries_enrol_everyone_once_and_answer_every_click(db_url, tmp_path):
    count = max(CLICKS // 5, 1)  # each person clicks five times; one click in five is re-sent
    db = prepare(db_url, count)
    token = token_of(db)
    slack = standin(count)
    # SQLite serves with one worker (serve refuses more); PostgreSQL with two.
    workers = "1" if db_url.startswith("sqlite") else "2"
    with ServedApp(slack.app) as served:
        slack.url = served.url
        server = Server(tmp_path, "--workers", workers, **settings(db_url, slack))
        try:
            server.wait_healthy()

            async def load() -> list[tuple[int, str]]:
                limit = asyncio.Semaphore(16)
                async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:

                    async def one(n: int) -> list[tuple[int, str]]:
                        async with limit:
                            user = people(count)[n % count][0]
                            return await click(client, slack, user, token, retries=int(n % 5 == 4))

                    results = await asyncio.gather(*(one(n) for n in range(CLICKS)))
                return [a for r in results for a in r]

            answers = asyncio.run(load())
        finally:
            server.stop()
    requests = len(answers)
    assert requests == CLICKS + CLICKS // 5
    assert Counter(status for status, _ in answers) == {200: requests}
    # every click was answered to the person who clicked (a re-sent one on the same response_url)
    urls = {u for _, u in answers}
    deadline = time.monotonic() + 30
    while sum(len(slack.responses[u.rsplit("/", 1)[1]]) for u in urls) < requests:
        assert time.monotonic() < deadline, "some clicks were never answered"
        time.sleep(0.1)
    assert db.count(Enrolment) == count + 1  # + Dan, who had completed it before
    assert db.count(AuditEvent, AuditEvent.action.like("enrol.%")) == requests
    assert db.count(AuditEvent, AuditEvent.action == "enrol.enrolled") == count
    # Slack's directory is asked about each person once per worker at most, not once per click.
    asked = Counter(c.args["user"] for c in slack.calls_of("users.info"))
    assert set(asked) == {uid for uid, _ in people(count)} and max(asked.values()) <= 2


def test_a_worker_killed_mid_burst_loses_no_acknowledged_click_and_no_alert(db_url, tmp_path):
    count = 200
    db = prepare(db_url, count, subscribe="C0OPS")
    token = token_of(db)
    slack = standin(count)
    with ServedApp(slack.app) as served:
        slack.url = served.url
        # A short lease, so the restarted worker may take over the dead one's deliveries soon.
        env = settings(
            db_url, slack, ENROLBOT_DELIVERY_LEASE_SECONDS="4", SLACK_TIMEOUT_SECONDS="1"
        )
        server = Server(tmp_path, **env)
        server.wait_healthy()

        async def burst() -> list[tuple[int, str, str]]:
            limit = asyncio.Semaphore(8)
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:

                async def one(uid: str) -> tuple[int, str, str]:
                    async with limit:
                        [(status, url)] = await click(client, slack, uid, token)
                        return status, url, uid

                async def killer() -> None:
                    while len(slack.calls_of("users.info")) < count // 3:  # noqa: ASYNC110
                        await asyncio.sleep(0.01)
                    os.kill(server.process.pid, signal.SIGKILL)

                results = await asyncio.gather(killer(), *(one(uid) for uid, _ in people(count)))
            return results[1:]

        answered = asyncio.run(burst())
        server.stop()
        acknowledged = {uid for status, _, uid in answered if status == 200}
        assert 0 < len(acknowledged) < count  # the kill really came mid-burst
        enrolled_ids = {identity for (identity,) in db.run(lambda s: _enrolled_subjects(s))}
        assert acknowledged <= enrolled_ids  # every acknowledged click is in the database

        restarted = Server(tmp_path, **env)
        try:
            restarted.wait_healthy()
            deadline = time.monotonic() + 30
            while (
                db.count(OutboxMessage, OutboxMessage.status == "pending")
                and time.monotonic() < deadline
            ):
                time.sleep(0.2)
        finally:
            restarted.stop()
    assert db.count(OutboxMessage, OutboxMessage.status != "sent") == 0
    messages = [
        set(re.findall(r"Learner(\d{5})", text_of(c.args)))
        for c in slack.calls_of("chat.postMessage")
        if c.args["channel"] == "C0OPS"
    ]
    alerted = Counter(n for message in messages for n in message)
    enrolled_numbers = {uid[2:] for uid in enrolled_ids if uid.startswith("UL")}
    assert set(alerted) == enrolled_numbers  # an alert for every enrolment, none invented
    # Twice only for the one batch whose sending the kill interrupted before it was marked sent:
    # everyone alerted twice stood in one message, and no one three times.
    twice = {n for n, times in alerted.items() if times > 1}
    assert not twice or any(twice <= message for message in messages)
    assert max(alerted.values()) <= 2


def slowed(app, path_end: str, seconds: float):
    """The stand-in, answering requests whose path ends with `path_end` `seconds` late."""

    async def slow(scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].endswith(path_end):
            await asyncio.sleep(seconds)
        await app(scope, receive, send)

    return slow


def test_a_click_acknowledged_before_its_commit_is_finished_after_a_kill(db_url, tmp_path):
    count = 60
    db = prepare(db_url, count)
    token = token_of(db)
    slack = standin(count)
    # Slack's directory answers slowly: every first-time click outlasts the acknowledgement
    # budget, is acknowledged uncommitted, and the process dies before it could commit.
    with ServedApp(slowed(slack.app, "/users.info", 4)) as served:
        slack.url = served.url
        server = Server(tmp_path, **settings(db_url, slack))
        server.wait_healthy()

        async def burst() -> list[tuple[int, str, str]]:
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:

                async def one(uid: str) -> tuple[int, str, str]:
                    [(status, url)] = await click(client, slack, uid, token)
                    if status == 200:
                        acknowledged.append(uid)
                    return status, url, uid

                async def killer() -> None:
                    while len(acknowledged) < count // 3:  # noqa: ASYNC110
                        await asyncio.sleep(0.01)
                    os.kill(server.process.pid, signal.SIGKILL)

                acknowledged: list[str] = []
                results = await asyncio.gather(killer(), *(one(uid) for uid, _ in people(count)))
            return results[1:]

        answered = asyncio.run(burst())
        server.stop()
        assert db.count(Enrolment) == 1  # nothing was committed before the kill: only Dan
        acked = {uid: url for status, url, uid in answered if status == 200}
        assert 0 < len(acked)

        restarted = Server(tmp_path, **settings(db_url, slack))
        try:
            restarted.wait_healthy()
            replies = {
                uid: text_of(slack.wait_response(url, timeout=60)[0]) for uid, url in acked.items()
            }
            # Clicks written down but killed before their acknowledgement are finished too, a
            # sweep later on PostgreSQL when their leases ran out after the acknowledged ones'.
            wait_until(lambda: db.count(PendingClick) == 0, "every pending click finished", 60)
        finally:
            restarted.stop()
    # Every acknowledged click ended enrolled and was told so, once.
    assert {uid for uid, reply in replies.items() if "You're enrolled" in reply} == set(acked)
    assert all(len(slack.responses[url.rsplit("/", 1)[1]]) == 1 for url in acked.values())
    enrolled_ids = {identity for (identity,) in db.run(lambda s: _enrolled_subjects(s))}
    assert set(acked) <= enrolled_ids


async def _enrolled_subjects(session) -> list[tuple[str]]:
    from store.models import Identity

    rows = await session.execute(
        select(Identity.subject).join(Enrolment, Enrolment.user_id == Identity.user_id)
    )
    return list(rows)


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


class Proxy:
    """A TCP relay to PostgreSQL that the test can cut and restore, as a network would."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.open = True
        self.port = 0
        self._writers: set[asyncio.StreamWriter] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    def cut(self) -> None:
        self.open = False
        for w in self._writers:
            w.close()
        self._writers.clear()

    async def serve(self, ready: asyncio.Event, stop: asyncio.Event) -> None:
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        await stop.wait()
        server.close()


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL: CI's PostgreSQL pass runs it"
)
def test_while_postgresql_is_away_clicks_are_told_to_retry_and_service_resumes_by_itself(
    databases, tmp_path
):
    import threading

    from sqlalchemy.engine import make_url

    db_url = databases.fresh("postgresql")
    try:
        db = prepare(db_url, 3)
        token = token_of(db)
        slack = standin(3)
        url = make_url(db_url)
        proxy = Proxy(url.port or 5432)
        loop = asyncio.new_event_loop()
        ready, stop = asyncio.Event(), asyncio.Event()
        thread = threading.Thread(
            target=loop.run_until_complete, args=(proxy.serve(ready, stop),), daemon=True
        )
        thread.start()
        while not proxy.port:
            time.sleep(0.01)
        proxied = url.set(port=proxy.port).render_as_string(hide_password=False)
        with ServedApp(slack.app) as served:
            slack.url = served.url
            server = Server(tmp_path, **settings(proxied, slack))
            try:
                server.wait_healthy()

                def one(uid: str) -> str:
                    async def go() -> list[tuple[int, str]]:
                        async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
                            return await click(client, slack, uid, token)

                    [(status, response_url)] = asyncio.run(go())
                    assert status == 200
                    return text_of(slack.wait_response(response_url, timeout=15)[0])

                assert "You're enrolled" in one("UL00000")
                loop.call_soon_threadsafe(proxy.cut)
                time.sleep(0.2)
                health = httpx.get(f"{server.url}/healthz", timeout=10)
                assert (health.status_code, health.json()["status"]) == (503, "unavailable")
                assert "Please try again in a moment" in one("UL00001")
                proxy.open = True  # the network is back
                deadline = time.monotonic() + 15
                while httpx.get(f"{server.url}/healthz", timeout=10).status_code != 200:
                    assert time.monotonic() < deadline, "the service did not come back by itself"
                    time.sleep(0.2)
                assert "You're enrolled" in one("UL00001")
                assert "You're enrolled" in one("UL00002")
            finally:
                out = server.stop()
                loop.call_soon_threadsafe(stop.set)
                thread.join(timeout=5)
        assert db.count(Enrolment) == 4  # three learners and Dan; nothing half-written
        assert "Traceback" not in out or "enrol click failed" in out
    finally:
        databases.drop(db_url)
