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


def _metrics_client(db_url: str, **settings: str) -> httpx.AsyncClient:
    app = create_app(
        Settings(_env_file=None, ENROLBOT_SECRET_KEY="k" * 32, DATABASE_URL=db_url, **settings)
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t")


async def test_metrics_with_a_token_set_answer_only_the_bearer_of_that_token(db_url):
    async with _metrics_client(db_url, ENROLBOT_METRICS_TOKEN="s3cret-metrics") as client:
        anonymous = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer s3cret-metricz"})
        basic = await client.get("/metrics", headers={"Authorization": "Basic s3cret-metrics"})
        right = await client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics"})
    for refused in (anonymous, wrong, basic):
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == 'Bearer realm="metrics"'
        assert "enrolbot_" not in refused.text
        assert "s3cret" not in refused.text
    assert right.status_code == 200
    assert "enrolbot_" in right.text


async def test_metrics_without_a_token_set_stay_open(db_url):
    async with _metrics_client(db_url) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200 and "enrolbot_" in response.text
