"""Opaque cursors for keyset pagination: the last row's (sort key, id), signed so a client
cannot forge one, and bound to the list and filters it came from, so a cursor from one query
cannot page another."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from itsdangerous import BadData, URLSafeSerializer

from handlers.api.problems import ApiProblem


class Cursors:
    def __init__(self, keys: tuple[str, ...] | list[str]) -> None:
        # itsdangerous wants oldest first and signs with the last key.
        self._serializer = URLSafeSerializer(list(reversed(keys)), salt="enrolbot.api.cursor")

    @staticmethod
    def _scope(listing: str, filters: dict[str, Any]) -> str:
        text = json.dumps([listing, filters], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def make(self, listing: str, filters: dict[str, Any], after: list[Any]) -> str:
        return self._serializer.dumps({"s": self._scope(listing, filters), "a": after})

    def read(self, cursor: str, listing: str, filters: dict[str, Any]) -> list[Any]:
        """The position a cursor names, or a 400 problem if it is not one of ours for this
        list with these filters."""
        try:
            data = self._serializer.loads(cursor)
        except (BadData, ValueError, TypeError):
            data = None
        if (
            not isinstance(data, dict)
            or data.get("s") != self._scope(listing, filters)
            or not isinstance(data.get("a"), list)
        ):
            raise ApiProblem(
                "bad-cursor",
                "This cursor was not made by this list with these filters: start again without "
                "a cursor, and pass next_cursor from the previous page unchanged.",
            )
        return data["a"]
