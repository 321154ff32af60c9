"""Secrets enrolbot must read back (a webhook's signing secret: the receiver checks the HMAC made
with it) kept sealed at rest, so a database dump or backup does not show them.

Each key of ENROLBOT_SECRET_KEY (newest first) gives a Fernet key through HKDF-SHA256 with a
purpose label of its own, so the sealing key is never the key that signs links. Sealing uses the
newest key; opening tries every one, so rotating the setting keeps old values readable, and
`reseal` moves them to the newest key. A value without the `sealed:` prefix is one stored in
plain text before sealing began: it is opened as it is, and `reseal` seals it."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEALED_PREFIX = "sealed:"
WEBHOOK_SECRET = b"enrolbot.webhook-secret.v1"


class SealError(ValueError):
    """A sealed value that none of the keys opens (its key was removed from the setting)."""


@lru_cache(maxsize=16)
def _fernets(keys: tuple[str, ...], purpose: bytes) -> tuple[Fernet, ...]:
    if not keys:
        raise SealError(
            "ENROLBOT_SECRET_KEY is not set: make one with `enrolbot secret new` and set it."
        )
    return tuple(
        Fernet(
            base64.urlsafe_b64encode(
                HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
                    key.encode()
                )
            )
        )
        for key in keys
    )


def is_sealed(value: str) -> bool:
    return value.startswith(SEALED_PREFIX)


def seal(value: str, keys: Sequence[str], purpose: bytes = WEBHOOK_SECRET) -> str:
    """`value` sealed with the newest key, marked with the prefix."""
    token = _fernets(tuple(keys), purpose)[0].encrypt(value.encode())
    return SEALED_PREFIX + token.decode()


def unseal(stored: str, keys: Sequence[str], purpose: bytes = WEBHOOK_SECRET) -> str:
    """The value as it was before sealing; a plain (never sealed) value as it is."""
    if not is_sealed(stored):
        return stored
    token = stored.removeprefix(SEALED_PREFIX).encode()
    try:
        return MultiFernet(list(_fernets(tuple(keys), purpose))).decrypt(token).decode()
    except InvalidToken:
        raise SealError(
            "the signing secret was sealed with a key no longer in ENROLBOT_SECRET_KEY: put that "
            "key back after the newest one, or remove the webhook and add it again."
        ) from None


def reseal(stored: str, keys: Sequence[str], purpose: bytes = WEBHOOK_SECRET) -> str | None:
    """`stored` sealed with the newest key, or None when it already is. A plain value is
    sealed; one sealed with an older key is moved to the newest."""
    if not is_sealed(stored):
        return seal(stored, keys, purpose)
    newest = _fernets(tuple(keys), purpose)[0]
    token = stored.removeprefix(SEALED_PREFIX).encode()
    try:
        newest.decrypt(token)
        return None
    except InvalidToken:
        return seal(unseal(stored, keys, purpose), keys, purpose)
