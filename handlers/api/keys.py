"""API keys: made with scopes and shown once, kept only as a SHA-256 hash, listed, revoked.

A key is `eb_live_` and 43 URL-safe characters (256 random bits): so many that a plain SHA-256
is as safe to keep as a slow password hash, and looking a key up is one indexed query. The
prefix makes a leaked key recognisable to secret scanners and people alike.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import ApiKey, utcnow

KEY_PREFIX = "eb_live_"
_SHOWN = len(KEY_PREFIX) + 6  # what `apikey list` shows of each key

# Every scope, with what it allows; docs/api.md and the OpenAPI document say the same.
SCOPES: dict[str, str] = {
    "catalog:read": "list and read catalog items",
    "catalog:write": "create and update catalog items (PUT /catalog/items/{slug})",
    "enrolments:read": "list and read enrolments",
    "enrolments:write": "enrol people (source api) and withdraw enrolments",
    "completions:write": "report completions",
    "people:read": "list and read people",
    "people:write": "create and update people that no identity provider (SCIM) keeps",
    "groups:read": "list and read groups and their members",
    "rules:read": "list and read automatic enrolment rules",
    "webhooks:read": "list webhook endpoints and their deliveries",
    "webhooks:write": "add and remove webhook endpoints",
}


class UnknownScope(ValueError):
    """A scope that does not exist; the message names it and the valid ones."""


@dataclass(frozen=True)
class NewKey:
    row: ApiKey
    key: str  # the only time the key exists outside its holder's hands


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_scopes(scopes: list[str]) -> list[str]:
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise UnknownScope(f"Unknown scope {', '.join(unknown)}: choose from {', '.join(SCOPES)}.")
    return sorted(set(scopes))


class KeyRefused(Exception):
    """A key that cannot be made or revoked as asked; the message is one sentence saying how to
    do it instead."""


async def _live(session: AsyncSession, organisation_id: int, *where) -> list[ApiKey]:
    statement = select(ApiKey).where(
        ApiKey.organisation_id == organisation_id, ApiKey.revoked_at.is_(None), *where
    )
    return list((await session.execute(statement.order_by(ApiKey.id))).scalars())


async def create_key(
    session: AsyncSession, organisation_id: int, name: str, scopes: list[str]
) -> NewKey:
    """A new key with `scopes` (checked); the caller commits and shows `key` once. A name is
    what `revoke` takes, so a live key's name is not given twice, and a name is never a number
    (that would be read as an id)."""
    if name.isdigit():
        raise KeyRefused(
            f"A key's name can't be a number ({name!r} would be read as a key's id): "
            "give it a name with a letter in it."
        )
    taken = await _live(session, organisation_id, ApiKey.name == name)
    if taken:
        raise KeyRefused(
            f"The live API key {taken[0].id} is already named {name!r}: choose another name, "
            f"or revoke that key first with `enrolbot apikey revoke {taken[0].id}`."
        )
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        organisation_id=organisation_id,
        name=name,
        prefix=key[:_SHOWN],
        key_hash=hash_key(key),
        scopes=check_scopes(scopes),
    )
    session.add(row)
    await session.flush()
    return NewKey(row, key)


async def list_keys(session: AsyncSession, organisation_id: int) -> list[ApiKey]:
    statement = select(ApiKey).where(ApiKey.organisation_id == organisation_id).order_by(ApiKey.id)
    return list((await session.execute(statement)).scalars())


async def revoke_key(session: AsyncSession, organisation_id: int, name_or_id: str) -> ApiKey | None:
    """Revoke the one live key with this id (a number) or name; None when none matched.
    KeyRefused when the name is that of several live keys (made before names were kept
    apart): revoking them all could cut off an integration that is still in use."""
    if name_or_id.isdigit():
        rows = await _live(session, organisation_id, ApiKey.id == int(name_or_id))
    else:
        rows = await _live(session, organisation_id, ApiKey.name == name_or_id)
    if len(rows) > 1:
        ids = ", ".join(str(r.id) for r in rows)
        raise KeyRefused(
            f"{len(rows)} live API keys are named {name_or_id!r} (ids {ids}): revoke the one "
            f"you mean by its id, like `enrolbot apikey revoke {rows[0].id}`; "
            "`enrolbot apikey list` shows which is which."
        )
    if not rows:
        return None
    await session.execute(update(ApiKey).where(ApiKey.id == rows[0].id).values(revoked_at=utcnow()))
    await session.refresh(rows[0])
    return rows[0]


async def authenticate(session: AsyncSession, presented: str) -> ApiKey | None:
    """The live key presented, or None (unknown, malformed or revoked: the caller need not
    say which to an unauthenticated client)."""
    if not presented.startswith(KEY_PREFIX) or len(presented) > 200:
        return None
    row = (
        await session.execute(select(ApiKey).where(ApiKey.key_hash == hash_key(presented)))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    return row
