"""Who a Teams user is: the connector's member lookup, read once per person."""

from __future__ import annotations

from bot.teams.connector import Connector
from handlers.identity import Profile, ProfileLookup
from store.models import Standing


def profile_of(member: dict | None, our_tenant: str) -> Profile:
    """Teams says `userRole` "user" for members of the tenant; guests and anonymous people are
    anything else. Entra B2B guests also carry #EXT# in their UPN."""
    if member is None:
        return Profile(email=None, standing=Standing.EXTERNAL)
    upn = member.get("userPrincipalName") or ""
    if member.get("tenantId") and member["tenantId"] != our_tenant:
        standing = Standing.EXTERNAL
    elif member.get("userRole", "user") != "user" or "#EXT#" in upn.upper():
        standing = Standing.GUEST
    else:
        standing = Standing.MEMBER
    return Profile.named(
        member.get("email") or upn or None,
        standing,
        member.get("givenName") or "",
        member.get("surname") or "",
        member.get("name") or "",
    )


def lookup(connector: Connector, activity: dict, user_id: str, our_tenant: str) -> ProfileLookup:
    async def run() -> Profile:
        member = await connector.member(
            activity["serviceUrl"], activity["conversation"]["id"], user_id
        )
        return profile_of(member, our_tenant)

    return run
