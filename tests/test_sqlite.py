"""SQLite as the service runs it: statements on the event loop (store.sqlite_driver), and the
write-ahead log copied into the database file from a thread rather than by whichever commit
filled it."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing

from sqlalchemy.engine import make_url

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
