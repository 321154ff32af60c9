"""What a sign-in provider gives the sign-in routes: where to send the browser, and who came
back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from handlers.identity import Account, Profile, ProfileLookup
from store.models import Standing


class SignInError(Exception):
    """A callback that does not complete a sign-in: the provider refused, the person cancelled,
    the state or nonce do not match, the code was already used. The message is for the log and
    names no token or code."""


@dataclass(frozen=True)
class SignedIn:
    """Who the provider says signed in: an account keyed exactly as that platform's clicks key
    it, and how to learn their profile. `outsider` is someone of another tenant or workspace,
    refused before any identity is kept."""

    account: Account
    lookup: ProfileLookup
    outsider: bool = False


class Provider(Protocol):
    name: str  # the path part of its callback: /auth/callback/{name}
    label: str  # "Microsoft", "Slack": what the chooser's button says

    async def begin(self, redirect_uri: str, choose_account: bool) -> tuple[str, dict[str, Any]]:
        """The provider's authorize URL, and what the callback needs kept until it comes; with
        `choose_account`, one that asks which account rather than using the one signed in."""
        ...

    async def finish(
        self, flow: dict[str, Any], answer: dict[str, str], redirect_uri: str
    ) -> SignedIn:
        """Redeem the callback's `answer` (its query) against the kept `flow`."""
        ...

    async def close(self) -> None: ...


async def outside() -> Profile:
    """The profile of someone of another organisation: nothing of ours to look up."""
    return Profile(email=None, standing=Standing.EXTERNAL)
