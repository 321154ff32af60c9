"""Where a webhook may be sent: a public https:// address. Whoever adds a webhook (an admin, an
API key) chooses where the server POSTs; without this check they could make it call its own
network: 127.0.0.1, the cloud's metadata service at 169.254.169.254, 10.x, fc00::/7. The check
runs when the webhook is added and again before every delivery, since a name can later resolve
elsewhere. ENROLBOT_WEBHOOK_ALLOW_PRIVATE lets development setups and tests use http:// and
addresses inside the network."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

Resolver = Callable[[str, int], Awaitable[list[str]]]
ALLOW_SETTING = "ENROLBOT_WEBHOOK_ALLOW_PRIVATE"
RESOLVE_SECONDS = 5.0


async def system_resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, asked of the system's resolver off the event loop."""
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in found]


@dataclass(frozen=True)
class AddressRules:
    """What ENROLBOT_WEBHOOK_ALLOW_PRIVATE says, and how names are resolved (a test may point
    `resolve` at a stand-in of DNS)."""

    allow_private: bool = False
    resolve: Resolver = field(default=system_resolve)
    seconds: float = RESOLVE_SECONDS


def _kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why `ip` is inside a network rather than on the internet, or None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for name, inside in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("non-public", not ip.is_global),
    ):
        if inside:
            return name
    return None


def _inside(url: str, shown: str, kind: str) -> str:
    article = "an" if kind[0] in "aeiou" else "a"
    return (
        f"{url} points at {shown}, {article} {kind} address inside a network, which webhooks may "
        "not reach: give the receiver's public https:// address (or, on a development setup "
        f"only, set {ALLOW_SETTING}=true)."
    )


def scheme_problem(url: str, allow_private: bool) -> str | None:
    """Why `url` cannot be a webhook's address on its face, or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("https", "http") or not parts.hostname:
        return f"{url!r} is not a web address: give the receiver's full https:// URL."
    if parts.scheme == "http" and not allow_private:
        return (
            f"{url} is not https: give the receiver's https:// address, so deliveries and "
            f"their signatures travel encrypted (or, on a development setup only, set "
            f"{ALLOW_SETTING}=true)."
        )
    return None


async def refusal(url: str, rules: AddressRules) -> str | None:
    """Why a webhook may not be sent to `url` now, as one sentence saying how to fix it; None
    when it may. Every address its host resolves to must be public."""
    problem = scheme_problem(url, rules.allow_private)
    if problem or rules.allow_private:
        return problem
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            addresses = await asyncio.wait_for(rules.resolve(host, port), rules.seconds)
        except TimeoutError:
            return (
                f"{host} did not resolve within {rules.seconds:g}s: check the address, or try "
                "again when its DNS answers."
            )
        except (OSError, UnicodeError):
            return f"{host} cannot be found (its name does not resolve): check the address."
    for address in addresses:
        kind = _kind(ipaddress.ip_address(address.split("%", 1)[0]))
        if kind is not None:
            shown = address if address == host else f"{address} (as {host} resolves)"
            return _inside(url, shown, kind)
    return None
