"""The API under test: the real ASGI app in process behind httpx, an organisation with a few
items and people, and keys with chosen scopes made as `enrolbot apikey create` makes them."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import create_app
from bot.settings import Settings
from handlers.api.keys import SCOPES, create_key
from store.models import Enrolment, Organisation
from tests.support import factories

SECRET = "api-test-key-0123456789abcdef0123456789"
ALL = tuple(SCOPES)
PROBLEM = "application/problem+json"


@dataclass
class ApiWorld:
    sessions: async_sessionmaker[AsyncSession]
    client: httpx.AsyncClient
    org: Organisation

    made: int = 0  # keys made so far: a live key's name is not given twice

    async def key(self, *scopes: str, name: str | None = None) -> str:
        self.made += 1
        name = name or ("lms" if self.made == 1 else f"lms-{self.made}")
        async with self.sessions() as session, session.begin():
            made = await create_key(session, self.org.id, name, list(scopes or ALL))
        return made.key

    def auth(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}


async def start(
    db_url: str, sessions: async_sessionmaker[AsyncSession], **settings: str
) -> ApiWorld:
    async with sessions() as session, session.begin():
        org = await factories.organisation(session)
        await factories.item(session, org, "safety-101")
        await factories.item(session, org, "python-basics", kind="article")
        await factories.user(session, org, "ann@example.com")
        await factories.user(session, org, "bob@example.com", first_name="Bob")
    app = create_app(
        Settings(
            _env_file=None,
            DATABASE_URL=db_url,
            ENROLBOT_SECRET_KEY=SECRET,
            ENROLBOT_PUBLIC_URL="http://bot.test",
            **settings,
        )
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot.test")
    return ApiWorld(sessions, client, org)


def problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == f"tag:enrolbot,2026:problems/{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert body["instance"] == response.request.url.path
    return body


async def count(sessions, where) -> int:
    async with sessions() as s:
        return (await s.execute(select(func.count()).select_from(Enrolment).where(where))).scalar()
