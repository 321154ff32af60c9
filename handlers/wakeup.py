"""Waking the rules' follower the moment a change is committed, in this process.

Whoever writes something rules react to (a directory change, a rule saved or resumed) calls
`changed(session)`; once that session's transaction commits, every event from `subscribe()` is
set, and the follower (handlers.rules.follow) runs without waiting for its next poll. A
rollback wakes no one. Other processes' changes are found by the follower's poll.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

_KEY = "enrolbot.wakeup"
_events: list[asyncio.Event] = []


def subscribe() -> asyncio.Event:
    """An event set after each commit of a change; the subscriber clears it."""
    woken = asyncio.Event()
    _events.append(woken)
    return woken


def unsubscribe(woken: asyncio.Event) -> None:
    if woken in _events:
        _events.remove(woken)


def changed(session: AsyncSession | Session) -> None:
    """Mark the session's transaction as one that rules react to."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    sync.info[_KEY] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_KEY, False):
        for woken in list(_events):
            woken.set()


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_KEY, None)
