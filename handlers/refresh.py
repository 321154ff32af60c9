"""Whose My learning changed, told after the commit, in this process.

Whoever changes what a person sees in My learning (an enrolment made, completed or withdrawn:
handlers.events.enrolments, which every writer calls; a mute) calls `changed(session, ids)`.
Once that transaction commits, every listener from `listen()` is called with the people's ids
(a rollback tells no one). The Slack Home tab republishes from there (bot.slack.home), debounced
and in the background, so no click waits on it. Other processes' changes (a CLI import) are
seen when the person next opens the tab, which always publishes afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

_KEY = "enrolbot.refresh"
Listener = Callable[[set[int]], None]
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    """Call `listener` with the people's ids after each commit that changed theirs. It runs in
    SQLAlchemy's after_commit: it must only schedule work, never wait."""
    _listeners.append(listener)


def unlisten(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def listening() -> bool:
    """Whether anyone listens: writers skip looking up whose enrolments changed otherwise."""
    return bool(_listeners)


def changed(session: AsyncSession | Session, user_ids: Iterable[int]) -> None:
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    sync.info.setdefault(_KEY, set()).update(user_ids)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    people = session.info.pop(_KEY, None)
    if people:
        for listener in list(_listeners):
            listener(set(people))


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_KEY, None)
