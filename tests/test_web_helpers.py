"""The tests and the benchmarks run the product with one set of helpers (tests/support/): the
benchmarks get what the tests were fixed to do, such as ports nobody can take first."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from bench import common
from handlers.signing import LinkSigner, TokenClaims
from store.models import Identity, User
from tests.support import processes, seed


def test_bench_servers_get_ports_below_the_kernels_ephemeral_range(tmp_path, monkeypatch):
    monkeypatch.setenv("SMTP_URL", "smtp://developer.example:25")  # a developer's own setting
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    standin = common.standin(tmp_path)
    app = common.enrolbot_serve(tmp_path, {"DATABASE_URL": "sqlite:///x.db"})
    minimal = common.minimal_app(tmp_path, standin.url)
    for server in (standin, app, minimal):
        assert isinstance(server, processes.Process)
        assert server.port < low, f"{server.name} got port {server.port}, in the ephemeral range"
        assert "SMTP_URL" not in server.env


async def test_the_bulk_seed_makes_people_their_identities_and_working_tokens(db_url, session):
    tokens = await seed.many(
        db_url, key=common.SECRET_KEY, team=common.TEAM, users=25, items=2, warm=True
    )
    assert await session.scalar(select(func.count()).select_from(User)) == 25
    assert await session.scalar(select(func.count()).select_from(Identity)) == 25
    subject = await session.scalar(
        select(Identity.subject).where(Identity.email == common.email_of(7))
    )
    assert subject == common.user_id(7) == "UB0000007"
    signer = LinkSigner([common.SECRET_KEY])
    assert len(tokens) == 2
    assert all(isinstance(signer.read(t), TokenClaims) for t in tokens)
