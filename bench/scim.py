"""SCIM provisioning: an identity provider's first full provisioning, and one big PATCH.

`enrolbot serve` (a child process, ENROLBOT_SCIM_TOKEN set) on a fresh SQLite file, then on a
fresh PostgreSQL database (created, upgraded and dropped; skipped when none answers) with
BENCH_SCIM_WORKERS workers (default 2). The
script is the identity provider: BENCH_SCIM_CONCURRENCY connections (default 16), each sending
its next request as soon as it has the answer to the last, in Entra ID's shapes:

1. BENCH_SCIM_USERS users (default 10,000): POST /Users with Entra's body (name, work email,
   enterprise department among 50, organization, employeeNumber, manager = an earlier user);
2. BENCH_SCIM_GROUPS groups (500): POST /Groups without members;
3. their memberships (BENCH_SCIM_MEMBERS per group, 100: 50,000 in all): PATCH add members,
   BENCH_SCIM_PATCH_SIZE members a request (100, one PATCH per group);
4. one PATCH adding 1,000 members to a new group.

Baseline in the same run: one connection against GET /ServiceProviderConfig (authentication,
routing and a SCIM answer, no database), so the ratio says what the writes cost over the
HTTP path itself.

    python -m bench.scim
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from sqlalchemy.engine import make_url

from bench import common as c

USERS = int(c.knob("BENCH_SCIM_USERS", 10_000) * c.scale())
GROUPS = int(c.knob("BENCH_SCIM_GROUPS", 500) * c.scale())
MEMBERS = int(c.knob("BENCH_SCIM_MEMBERS", 100))
PATCH_SIZE = int(c.knob("BENCH_SCIM_PATCH_SIZE", 100))
CONCURRENCY = int(c.knob("BENCH_SCIM_CONCURRENCY", 16))
WORKERS = int(c.knob("BENCH_SCIM_WORKERS", 2))  # `enrolbot serve --workers` on PostgreSQL
BACKENDS = os.environ.get("BENCH_SCIM_BACKENDS", "sqlite,postgresql").split(",")
BIG_PATCH = 1000
TOKEN = "bench-scim-token"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def user_body(n: int, manager: str | None) -> dict:
    enterprise = {
        "department": f"Department {n % 50}",
        "organization": "Contoso",
        "employeeNumber": str(100000 + n),
    }
    if manager:
        enterprise["manager"] = {"value": manager}
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "externalId": str(uuid.UUID(int=n + 1)),
        "userName": f"person{n}@contoso.com",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": f"person{n}@contoso.com"}],
        "name": {"givenName": f"Given{n}", "familyName": f"Family{n}"},
        "title": "Engineer",
        ENTERPRISE: enterprise,
    }


def add_members(ids: list[str]) -> dict:
    return {
        "schemas": [PATCH],
        "Operations": [{"op": "Add", "path": "members", "value": [{"value": i} for i in ids]}],
    }


class Client:
    """The identity provider's HTTP client (aiohttp: the load generator's own cost stays small
    beside the server's)."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def send(self, method: str, path: str, body: dict | None, expected: int) -> dict:
        async with self.session.request(
            method, f"{self.base}{path}", json=body, headers=HEADERS
        ) as response:
            text = await response.text()
            if response.status != expected:
                raise RuntimeError(f"{method} {path}: {response.status} {text}")
            return json.loads(text) if text else {}


async def closed_loop(jobs: list[Callable[[], Awaitable[None]]]) -> float:
    """CONCURRENCY connections, each sending its next request as soon as it has an answer;
    seconds until the last answer."""
    pending = iter(jobs)
    began = time.monotonic()

    async def connection() -> None:
        for job in pending:
            await job()

    await asyncio.gather(*(connection() for _ in range(CONCURRENCY)))
    return time.monotonic() - began


async def provision(http: Client) -> dict[str, float]:
    """The phases one after another; seconds each."""
    ids: dict[int, str] = {}

    def user(n: int) -> Callable[[], Awaitable[None]]:
        async def post() -> None:
            body = user_body(n, ids.get(n // 10) if n >= 10 else None)
            ids[n] = (await http.send("POST", "/Users", body, 201))["id"]

        return post

    groups: list[str] = []

    def group(g: int) -> Callable[[], Awaitable[None]]:
        async def post() -> None:
            body = {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "externalId": str(uuid.UUID(int=10**9 + g)),
                "displayName": f"Group {g}",
            }
            groups.append((await http.send("POST", "/Groups", body, 201))["id"])

        return post

    def members(group_id: str, part: list[str]) -> Callable[[], Awaitable[None]]:
        async def patch() -> None:
            await http.send("PATCH", f"/Groups/{group_id}", add_members(part), 204)

        return patch

    took = {"users": await closed_loop([user(n) for n in range(USERS)])}
    took["groups"] = await closed_loop([group(g) for g in range(GROUPS)])
    every = [ids[n] for n in range(USERS)]
    patches = []
    for g, group_id in enumerate(groups):
        chosen = [every[(g * 37 + k * 101) % len(every)] for k in range(MEMBERS)]
        for start in range(0, len(chosen), PATCH_SIZE):
            patches.append(members(group_id, chosen[start : start + PATCH_SIZE]))
    took["memberships"] = await closed_loop(patches)
    big = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Big"}
    big_id = (await http.send("POST", "/Groups", big, 201))["id"]
    began = time.monotonic()
    await http.send("PATCH", f"/Groups/{big_id}", add_members(every[:BIG_PATCH]), 204)
    took["big patch"] = time.monotonic() - began
    return took


async def baseline(http: Client, requests: int = 1000) -> float:
    """Seconds per GET /ServiceProviderConfig, the same client, one at a time."""
    began = time.monotonic()
    for _ in range(requests):
        await http.send("GET", "/ServiceProviderConfig", None, 200)
    return (time.monotonic() - began) / requests


async def run(workdir: Path, label: str, db_url: str) -> None:
    settings = {
        "DATABASE_URL": db_url,
        "ENROLBOT_SECRET_KEY": c.SECRET_KEY,
        "ENROLBOT_PUBLIC_URL": "https://enrol.acme.test",
        "ENROLBOT_SCIM_TOKEN": TOKEN,
    }
    c.run_enrolbot(workdir, settings, "db", "upgrade")
    workers = WORKERS if label == "PostgreSQL" else 1  # SQLite has one writer
    server = c.enrolbot_serve(workdir, settings, "--workers", str(workers))
    with c.running(server):
        server.start()
        base = f"{server.url}/scim/v2"
        timeout = aiohttp.ClientTimeout(total=60)
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            http = Client(session, base)
            per_request = await baseline(http)
            cpu, own, machine = (
                c.cpu_seconds(server.pid),
                c.own_cpu_seconds(),
                c.machine_cpu_seconds(),
            )
            took = await provision(http)
            cpu = c.cpu_seconds(server.pid) - cpu
            own = c.own_cpu_seconds() - own
            others = c.machine_cpu_seconds() - machine - cpu - own
        c.show_problems(server)
    requests = USERS + GROUPS + GROUPS * -(-MEMBERS // PATCH_SIZE)
    total = took["users"] + took["groups"] + took["memberships"]
    print(
        f"\n  {label}: {USERS:,} users, {GROUPS:,} groups, {GROUPS * MEMBERS:,} memberships, "
        f"{CONCURRENCY} connections, {workers} server worker(s)"
    )
    c.line("users (POST /Users)", f"{took['users']:.1f} s")
    c.line("groups (POST /Groups)", f"{took['groups']:.1f} s")
    c.line("memberships (PATCH add members)", f"{took['memberships']:.1f} s")
    c.line("initial provisioning in all", f"{total:.1f} s", "<= 60 s", total <= 60)
    print(
        f"      (ratio to target {total / 60:.2f}; {requests / total:,.0f} requests/s; "
        f"CPU: server {cpu:.1f} s, client {own:.1f} s, other processes {others:.1f} s; "
        f"{total / requests * 1000:.1f} ms a request against "
        f"{per_request * 1000:.1f} ms for GET /ServiceProviderConfig, "
        f"ratio {total / requests / per_request:.1f})"
    )
    big = took["big patch"]
    c.line(f"PATCH adding {BIG_PATCH:,} members", f"{big:.2f} s", "<= 1 s", big <= 1)
    print(f"      (ratio to target {big:.2f})")


async def main() -> None:
    c.header("scim: initial provisioning and a big PATCH")
    with c.workdir("bench-scim-") as wd:
        if "sqlite" in BACKENDS:
            await run(wd, "SQLite", f"sqlite:///{wd / 'scim.db'}")
        if "postgresql" not in BACKENDS:
            return
        admin = make_url(c.pg_admin_url())
        name = f"enrolbot_bench_{uuid.uuid4().hex[:10]}"
        try:
            await c.pg_execute(f'CREATE DATABASE "{name}"')
        except OSError:
            print("\n  PostgreSQL skipped: none answers at BENCH_POSTGRES_URL")
            return
        try:
            db_url = admin.set(database=name).render_as_string(hide_password=False)
            await run(wd, "PostgreSQL", db_url)
        finally:
            await c.pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    started = time.monotonic()
    asyncio.run(main())
    print(f"  (ran in {time.monotonic() - started:.0f}s)")
