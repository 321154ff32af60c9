"""Self-registration tokens: short codes an outsider types (or follows a link that fills in) on
the registration page to sign up and be enrolled in one of the organisation's own items.

The rules come from seed 001: many tokens per item, each with a nickname; only for the
organisation's own items, not library ones; a deactivated token says it is disabled and works
again once reactivated; a deleted token is destroyed and never matches again.

A code is 10 characters from an alphabet without look-alikes (no 0/O, 1/I/L), shown as
`ABCDE-FGHJK`: about 49.5 bits, which the registration page's rate limits make hopeless to guess
online. Only a keyed hash is stored (HMAC-SHA256 under ENROLBOT_SECRET_KEY): a plain hash of 49
bits could be searched through offline by whoever read a copy of the database, a keyed one
cannot without the key. Each configured key is tried, newest first, so keys rotate as for
links; a code matched under an older key is re-hashed under the newest one on use.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.signing import LinkSigner
from store.models import (
    CatalogItem,
    DeletedRegistrationToken,
    Enrolment,
    ItemSource,
    RegistrationToken,
    utcnow,
)

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10
GROUP = 5
NICKNAME_MAX = 200
_HASH_PURPOSE = b"enrolbot.registration-token\0"
_SEPARATORS = re.compile(r"[\s\-_.]+")
REF = re.compile(r"^[tT]([0-9]{1,9})$")


class TokenError(Exception):
    """A request about tokens that cannot be met; the message says why, in a sentence."""


class TokenState(enum.StrEnum):
    OK = "ok"
    UNKNOWN = "unknown"  # never existed, mistyped or deleted: told apart by nobody
    DISABLED = "disabled"


@dataclass(frozen=True)
class TokenCheck:
    state: TokenState
    token: RegistrationToken | None = None
    item: CatalogItem | None = None


def new_code() -> str:
    """A fresh code, grouped for reading aloud and typing: `ABCDE-FGHJK`."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:GROUP]}-{raw[GROUP:]}"


def normalise(text: str) -> str | None:
    """The code as stored, from what a person typed or pasted: any case, with spaces, dashes or
    dots anywhere, or the whole registration link. None when it cannot be a code."""
    if "token=" in text:
        text = text.rpartition("token=")[2].partition("&")[0]
    code = _SEPARATORS.sub("", text).upper()
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def shown(code: str) -> str:
    """A normalised code as people see it."""
    return f"{code[:GROUP]}-{code[GROUP:]}"


def _digest(key: str, code: str) -> str:
    return hmac.new(key.encode(), _HASH_PURPOSE + code.encode(), hashlib.sha256).hexdigest()


def digests(signer: LinkSigner, code: str) -> list[str]:
    """The code's hash under each key, newest first (the first is the one stored)."""
    return [_digest(key, code) for key in signer.keys]


def ref(token: RegistrationToken) -> str:
    """The token's short, non-secret name in lists and commands: t12."""
    return f"t{token.id}"


def register_url(public_url: str, code: str) -> str:
    """The link that opens the registration page with the code filled in."""
    return f"{public_url}/register?token={quote(shown(code))}"


def register_ref_url(public_url: str, signed_ref: str) -> str:
    """The registration page for a registration button's token, named by its signed reference
    (handlers.signing.RegistrationRefSigner), so the code itself is never in it."""
    return f"{public_url}/register?ref={quote(signed_ref)}"


def ensure_own(item: CatalogItem) -> None:
    if item.source is ItemSource.LIBRARY:
        raise TokenError(
            f"{item.title} comes from the content library, and registration tokens are only "
            "for your organisation's own topics, articles and pathways. Make a token for one "
            "of those instead."
        )


def clean_nickname(nickname: str | None) -> str | None:
    nickname = (nickname or "").strip() or None
    if nickname and len(nickname) > NICKNAME_MAX:
        raise TokenError(
            f"A nickname can be at most {NICKNAME_MAX} characters; yours has {len(nickname)}."
        )
    return nickname


async def create_token(
    session: AsyncSession,
    signer: LinkSigner,
    item: CatalogItem,
    *,
    nickname: str | None,
    created_by_user_id: int | None,
    active: bool = True,
) -> tuple[RegistrationToken, str]:
    """A new token for `item` and its code, which exists only in this answer: shown once."""
    ensure_own(item)
    nickname = clean_nickname(nickname)
    while True:
        code = normalise(new_code())
        assert code is not None
        hashes = digests(signer, code)
        taken = await session.scalar(
            select(func.count())
            .select_from(RegistrationToken)
            .where(RegistrationToken.code_hash.in_(hashes))
        )
        if not taken:  # one in 8·10^14; the unique index would refuse it anyway
            break
    token = RegistrationToken(
        organisation_id=item.organisation_id,
        item_id=item.id,
        nickname=nickname,
        code_hash=hashes[0],
        is_active=active,
        created_by_user_id=created_by_user_id,
    )
    session.add(token)
    await session.flush()
    return token, code


async def tokens_of(session: AsyncSession, item: CatalogItem) -> list[RegistrationToken]:
    """The item's tokens that still exist, oldest first."""
    rows = await session.execute(
        select(RegistrationToken)
        .where(RegistrationToken.item_id == item.id, RegistrationToken.deleted_at.is_(None))
        .order_by(RegistrationToken.id)
    )
    return list(rows.scalars())


async def uses_of(session: AsyncSession, token_ids: list[int]) -> dict[int, int]:
    """How many people each token enrolled, counted from the enrolments as for links."""
    rows = await session.execute(
        select(Enrolment.registration_token_id, func.count())
        .where(Enrolment.registration_token_id.in_(token_ids))
        .group_by(Enrolment.registration_token_id)
    )
    counts: dict[int, int] = dict(rows.all())  # type: ignore[arg-type]
    return {token_id: counts.get(token_id, 0) for token_id in token_ids}


async def with_nickname(
    session: AsyncSession, item: CatalogItem, nickname: str
) -> RegistrationToken | None:
    """The item's token that already has this nickname (compared without case or outer
    spaces), which another with the same nickname would be hard to tell apart from."""
    wanted = nickname.strip().casefold()
    for token in await tokens_of(session, item):
        if (token.nickname or "").casefold() == wanted:
            return token
    return None


async def get_token(
    session: AsyncSession, organisation_id: int, token_id: int
) -> RegistrationToken:
    """A token that exists and has not been deleted, or TokenError saying which."""
    token = await session.get(RegistrationToken, token_id)
    if token is None or token.organisation_id != organisation_id:
        raise TokenError(
            f"There is no token t{token_id}. `token list ITEM` shows an item's tokens."
        )
    if token.deleted_at is not None:
        raise TokenError(f"Token t{token_id} was deleted; deleted tokens cannot be recovered.")
    return token


def set_active(token: RegistrationToken, active: bool) -> bool:
    """Switch a token on or off; False when it already was."""
    if token.is_active == active:
        return False
    token.is_active = active
    return True


async def delete_token(
    session: AsyncSession, token: RegistrationToken, *, deleted_by_user_id: int | None
) -> None:
    """Destroy a token for good: its hash is erased and a tombstone written."""
    token.code_hash = None
    token.deleted_at = utcnow()
    token.is_active = False
    session.add(DeletedRegistrationToken(token_id=token.id, deleted_by_user_id=deleted_by_user_id))
    await session.flush()


async def check_code(
    session: AsyncSession, signer: LinkSigner, typed: str, organisation_id: int
) -> TokenCheck:
    """What a typed code is worth in `organisation_id`. Unknown, mistyped and deleted codes are
    one state, so the page cannot tell anyone which codes once existed."""
    code = normalise(typed)
    if code is None:
        return TokenCheck(TokenState.UNKNOWN)
    hashes = digests(signer, code)
    row = (
        await session.execute(
            select(RegistrationToken, CatalogItem, DeletedRegistrationToken.token_id)
            .join(CatalogItem, CatalogItem.id == RegistrationToken.item_id)
            .outerjoin(
                DeletedRegistrationToken,
                DeletedRegistrationToken.token_id == RegistrationToken.id,
            )
            .where(RegistrationToken.code_hash.in_(hashes))
        )
    ).first()
    if row is None:
        return TokenCheck(TokenState.UNKNOWN)
    token, item, tombstone = row
    if (
        token.organisation_id != organisation_id
        or tombstone is not None
        or token.deleted_at is not None
    ):
        return TokenCheck(TokenState.UNKNOWN)
    if token.code_hash != hashes[0]:  # made under a key that is no longer the newest
        token.code_hash = hashes[0]
    if not token.is_active:
        return TokenCheck(TokenState.DISABLED, token, item)
    return TokenCheck(TokenState.OK, token, item)


async def check_id(session: AsyncSession, token_id: int, organisation_id: int) -> TokenCheck:
    """What a token named by its id (a signed button's reference) is worth: the same states as
    a typed code, deleted tokens unknown."""
    row = (
        await session.execute(
            select(RegistrationToken, CatalogItem, DeletedRegistrationToken.token_id)
            .join(CatalogItem, CatalogItem.id == RegistrationToken.item_id)
            .outerjoin(
                DeletedRegistrationToken,
                DeletedRegistrationToken.token_id == RegistrationToken.id,
            )
            .where(RegistrationToken.id == token_id)
        )
    ).first()
    if row is None:
        return TokenCheck(TokenState.UNKNOWN)
    token, item, tombstone = row
    if (
        token.organisation_id != organisation_id
        or tombstone is not None
        or token.deleted_at is not None
        or token.code_hash is None
    ):
        return TokenCheck(TokenState.UNKNOWN)
    if not token.is_active:
        return TokenCheck(TokenState.DISABLED, token, item)
    return TokenCheck(TokenState.OK, token, item)
