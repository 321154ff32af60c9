"""`enrolbot apikey create|list|revoke`, and the key it prints used against `enrolbot serve`
in a child process: the served API answers, and stops answering once the key is revoked."""

from __future__ import annotations

import sqlite3

import httpx

from tests.support.processes import Server, enrolbot

KEY = "api-cli-test-key-0123456789abcdef0123456"


def test_a_key_made_by_the_cli_calls_the_served_api_until_revoked(tmp_path):
    run = lambda *args: enrolbot(*args, cwd=tmp_path, ENROLBOT_SECRET_KEY=KEY)  # noqa: E731
    bad = run("apikey", "create", "lms", "--scope", "catalog:wrte")
    assert bad.returncode != 0 and "Unknown scope catalog:wrte" in bad.stderr
    made = run("apikey", "create", "lms", "--scope", "catalog:write", "--scope", "catalog:read")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("eb_live_") and len(key) > 40
    assert "shown this once" in made.stdout
    listed = run("apikey", "list")
    assert "lms" in listed.stdout and "catalog:read,catalog:write" in listed.stdout
    assert key not in listed.stdout and "live" in listed.stdout
    assert key not in (tmp_path / "enrolbot.db").read_bytes().decode("latin-1")

    server = Server(tmp_path, ENROLBOT_SECRET_KEY=KEY)
    try:
        server.wait_healthy()
        auth = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.url, timeout=10) as client:
            put = client.put(
                "/api/v1/catalog/items/fire-drills",
                json={"title": "Fire drills", "kind": "topic"},
                headers=auth,
            )
            assert put.status_code == 201, put.text
            assert client.get("/api/v1/openapi.json").json()["openapi"] == "3.1.0"
            assert run("apikey", "revoke", "lms").stdout.startswith("Revoked API key 1 'lms'")
            after = client.get("/api/v1/catalog/items", headers=auth)
            assert after.status_code == 401
            assert after.headers["content-type"] == "application/problem+json"
    finally:
        output = server.stop()
    assert key not in output
    again = run("apikey", "revoke", "lms")
    assert again.returncode != 0 and "No live API key" in again.stderr


def test_the_cli_refuses_a_live_keys_name_and_a_revoke_that_would_hit_several_keys(tmp_path):
    run = lambda *args: enrolbot(*args, cwd=tmp_path, ENROLBOT_SECRET_KEY=KEY)  # noqa: E731
    assert run("apikey", "create", "review", "--scope", "catalog:read").returncode == 0
    twice = run("apikey", "create", "review", "--scope", "catalog:read")
    assert twice.returncode != 0
    assert twice.stderr.strip() == (
        "Error: The live API key 1 is already named 'review': choose another name, or revoke "
        "that key first with `enrolbot apikey revoke 1`."
    )
    # A second live "review", as a database made before names were kept apart may hold.
    with sqlite3.connect(tmp_path / "enrolbot.db") as db:
        db.execute(
            "INSERT INTO api_key (organisation_id, name, prefix, key_hash, scopes, created_at) "
            "SELECT organisation_id, name, 'eb_live_x', 'x', scopes, created_at FROM api_key"
        )
    both = run("apikey", "revoke", "review")
    assert both.returncode != 0
    assert "2 live API keys are named 'review' (ids 1, 2): revoke the one you mean" in both.stderr
    assert run("apikey", "list").stdout.count("\tlive") == 2
    one = run("apikey", "revoke", "2")
    assert one.stdout == "Revoked API key 2 'review'.\n"
    assert run("apikey", "list").stdout.count("\tlive") == 1
