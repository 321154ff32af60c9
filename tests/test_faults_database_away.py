"""PostgreSQL going away for a while under a real `enrolbot serve`: clicks are told to retry and
service resumes by itself when the network is back."""

from __future__ import annotations

import asyncio
import os
import time

import httpx
import pytest

from store.models import Enrolment
from tests.support.processes import Server
from tests.support.served_clicks import click, prepare, settings, standin, token_of
from tests.support.servers import ServedApp
from tests.support.slack_world import text_of


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
