"""The signed id a preview's button carries (Start import, Send invitations): the organisation
and the staged rows' id, good for PENDING_SECONDS, under a salt of its own per kind of preview
so no other token verifies as one."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

PENDING_SECONDS = 60 * 60  # a preview's button works this long


class StagedSigner:
    def __init__(self, keys: tuple[str, ...] | list[str], salt: str) -> None:
        # itsdangerous wants the keys oldest first; ours are newest first.
        self._s = URLSafeTimedSerializer(list(reversed(keys)), salt=salt)

    def sign(self, organisation_id: int, staged_id: int) -> str:
        return self._s.dumps([organisation_id, staged_id])

    def read(self, token: str) -> tuple[int, int] | None:
        """(organisation id, staged id); None when forged, tampered or too old."""
        try:
            org, staged_id = self._s.loads(token, max_age=PENDING_SECONDS)
        except (BadSignature, SignatureExpired, ValueError, TypeError):
            return None
        return int(org), int(staged_id)
