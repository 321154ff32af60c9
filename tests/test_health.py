from __future__ import annotations

import httpx

from bot.app import create_app
from bot.settings import Settings


async def test_healthz_is_503_with_a_reason_when_the_database_does_not_answer():
    settings = Settings(
        _env_file=None,
        ENROLBOT_SECRET_KEY="k" * 32,
        DATABASE_URL="postgresql://nobody:hunter2@127.0.0.1:1/none",
    )
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "reason": "database unavailable"}
    assert "hunter2" not in response.text


async def test_healthz_is_200_when_the_database_answers(db_url):
    app = create_app(Settings(_env_file=None, ENROLBOT_SECRET_KEY="k" * 32, DATABASE_URL=db_url))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        response = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
