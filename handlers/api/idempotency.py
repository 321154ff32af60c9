"""Idempotency-Key: a POST's answer kept with its key and a hash of the request, written in
the same transaction as the POST's effect. A retry with the same key and the same request gets
the same answer and causes nothing; the same key with another request is refused."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.api.problems import ApiProblem
from store.models import IdempotentRequest

MAX_KEY = 255
# How long an answer is kept for a retry: days of a platform's retries, without keeping every
# POST ever made.
KEPT = timedelta(days=7)


def request_hash(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def replay(
    session: AsyncSession, api_key_id: int, key: str, hashed: str
) -> tuple[int, dict[str, Any]] | None:
    """The answer kept for this key, None if there is none; a problem if the key was used
    for a different request."""
    row = (
        await session.execute(
            select(IdempotentRequest).where(
                IdempotentRequest.api_key_id == api_key_id, IdempotentRequest.key == key
            )
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    if row.request_hash != hashed:
        raise ApiProblem(
            "idempotency-key-reused",
            "This Idempotency-Key was already used for a different request: use a new key for "
            "each new request, and the same key only to retry the same request.",
        )
    return row.status_code, row.response


async def remember(
    session: AsyncSession,
    api_key_id: int,
    key: str,
    hashed: str,
    status: int,
    response: dict[str, Any],
    now: Any,
) -> None:
    """Keep the answer; a concurrent twin's row already there raises IntegrityError, and
    the caller's transaction (with its effect) rolls back."""
    await session.execute(
        insert(IdempotentRequest.__table__),
        {
            "api_key_id": api_key_id,
            "key": key,
            "request_hash": hashed,
            "status_code": status,
            "response": response,
            "created_at": now,
        },
    )


async def purge(session: AsyncSession, now: datetime) -> int:
    """Forget answers older than KEPT (one DELETE); how many went. The caller commits."""
    result = await session.execute(
        delete(IdempotentRequest).where(IdempotentRequest.created_at < now - KEPT)
    )
    return result.rowcount or 0
