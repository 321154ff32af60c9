"""Where an outbound message goes: a chat conversation or an inbox, as one small value.

Stored as text in the outbox and on subscriptions (`slack:T0ACME:C0OPS`,
`teams:TENANT:19:abc@thread.tacv2`, `teams:TENANT:dm:29:xyz`, `email:hr@example.com`); this
module is the only one that reads or writes that text. Only the first two colons separate: a
Teams conversation id has colons of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

EMAIL = "email"


class BadDestination(ValueError):
    """Text that is not a destination this module wrote."""


@dataclass(frozen=True)
class Destination:
    platform: str  # "slack", "teams", "email"
    tenant: str = ""  # the Slack team or Teams tenant; empty for email
    target: str = ""  # a channel, conversation or user id; for email, the address

    @classmethod
    def channel(cls, platform: str, tenant: str, target: str) -> Destination:
        return cls(platform, tenant, target)

    @classmethod
    def email(cls, address: str) -> Destination:
        # Addresses compare case-insensitively everywhere in the product.
        return cls(EMAIL, "", address.strip().lower())

    @classmethod
    def parse(cls, text: str) -> Destination:
        platform, sep, rest = text.partition(":")
        if not sep or not platform or not rest:
            raise BadDestination(f"not a destination: {text[:40]!r}")
        if platform == EMAIL:
            return cls(EMAIL, "", rest)
        tenant, sep, target = rest.partition(":")
        if not sep or not target:
            raise BadDestination(f"not a destination: {text[:40]!r}")
        return cls(platform, tenant, target)

    @property
    def is_email(self) -> bool:
        return self.platform == EMAIL

    def __str__(self) -> str:
        if self.is_email:
            return f"{EMAIL}:{self.target}"
        return f"{self.platform}:{self.tenant}:{self.target}"

    def for_log(self) -> str:
        """For a log line: channels as they are, an address without its local part."""
        if self.is_email:
            return f"{EMAIL}:…@{self.target.rpartition('@')[2]}"
        return str(self)


def for_log(text: str) -> str:
    """A stored destination for a log line, whatever the text holds."""
    try:
        return Destination.parse(text).for_log()
    except BadDestination:
        return "(not a destination)"
