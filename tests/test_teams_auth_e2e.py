"""Who may speak as Teams, end to end: the Bot Framework's authentication over the real app.

Forged, expired and foreign tokens, keys not endorsed for Teams, activities of other channels or
hosts, malformed activities, and refusals of other tenants and anonymous people, each audited."""

from __future__ import annotations

import json
import time

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from store.models import AdminGrant, AuditEvent, Enrolment, EnrolmentLink
from tests.support.teams_standin import OTHER_TENANT, TENANT
from tests.support.teams_world import CHANNEL, TeamsWorld, card_text


@pytest.fixture
def world(db_url, tmp_path):
    with TeamsWorld(db_url, tmp_path) as w:
        yield w


def enrol_invoke(world: TeamsWorld, token: str) -> dict:
    return world.activity(
        "ann",
        type="invoke",
        name="adaptiveCard/action",
        replyToId="card-1",
        value={"action": {"type": "Action.Execute", "verb": "enrol", "data": {"token": token}}},
    )


# Claims as functions of the time the test runs, not the time the module was collected.
FORGERIES = {
    "wrong issuer": lambda now: dict(iss="https://evil.example"),
    "wrong audience": lambda now: dict(aud="00000000-0000-0000-0000-000000000000"),
    "expired": lambda now: dict(exp=now - 400, iat=now - 4000, nbf=now - 4000),
    "not yet valid": lambda now: dict(nbf=now + 600),
    "serviceurl mismatch": lambda now: dict(serviceurl="https://elsewhere.example/"),
}


@pytest.mark.parametrize(
    "case",
    [
        *FORGERIES,
        "unknown key",
        "forged signature",
        "alg none",
        "no header",
        "not bearer",
        "garbage",
    ],
)
def test_every_request_that_is_not_the_bot_frameworks_gets_401_and_changes_nothing(world, case):
    token, _ = world.post_card()
    before = (world.db.count(Enrolment), world.db.count(AuditEvent), len(world.connector.sent))
    activity = enrol_invoke(world, token)
    url = activity["serviceUrl"]
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    headers = {}
    if case in FORGERIES:
        bearer = world.keys.sign(url, **FORGERIES[case](int(time.time())))
    elif case == "unknown key":
        bearer = world.keys.sign(url, key=stranger, kid="someone-elses-key")
    elif case == "forged signature":
        bearer = world.keys.sign(url, key=stranger)  # our key id, another key
    elif case == "alg none":
        bearer = world.keys.sign(url, algorithm="none")
    elif case == "garbage":
        bearer = "not.a.jwt"
    else:
        bearer = ""
    if case == "no header":
        response = world.http.post("/api/messages", json=activity)
    elif case == "not bearer":
        response = world.http.post(
            "/api/messages",
            json=activity,
            headers={"Authorization": f"Basic {world.keys.sign(url)}"},
        )
    else:
        response = world.send(activity, token=bearer, **headers)
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized"}
    time.sleep(0.2)
    assert (
        world.db.count(Enrolment),
        world.db.count(AuditEvent),
        len(world.connector.sent),
    ) == before


def test_a_key_not_endorsed_for_teams_is_refused(world, monkeypatch, caplog):
    token, _ = world.post_card()
    monkeypatch.setattr("bot.teams.auth.REFRESH_AT_MOST_EVERY", 0)
    world.keys.jwks["keys"][0]["endorsements"] = ["webchat"]
    world.keys.jwks["keys"][0]["kid"] = world.keys.kid = "rotated"
    response = world.send(enrol_invoke(world, token))
    assert response.status_code == 401
    assert "key not endorsed for channel 'msteams'" in caplog.text
    assert world.db.count(Enrolment) == 1


def test_a_new_signing_key_is_fetched_when_an_unknown_key_id_appears(world, monkeypatch):
    world.say("admin", "help")
    fetched = world.keys.fetches
    new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(new.public_key()))
    world.keys.jwks["keys"].append({**jwk, "kid": "key-2", "endorsements": ["msteams"]})
    world.keys.key, world.keys.kid = new, "key-2"
    monkeypatch.setattr("bot.teams.auth.REFRESH_AT_MOST_EVERY", 0)  # as if a minute had passed
    activity = world.activity("admin", type="message", text="enrol help", where="personal")
    assert world.send(activity).status_code == 200
    assert world.keys.fetches == fetched + 1
    world.connector.wait(lambda s: s.activity_id == activity["id"])


def test_an_anonymous_participant_and_another_tenant_are_refused(world):
    token, card_id = world.post_card()
    assert "Anonymous participants can't enrol." in world.click("anon", token, card_id)
    assert "This button is for members of the organisation that posted it." in world.click(
        "external", token, card_id
    )
    assert "I only serve the organisation that installed me" in card_text(
        world.say("external", "help")
    )
    assert world.db.count(Enrolment) == 1


def webchat_admin_add(world: TeamsWorld, **fields: object) -> dict:
    """The attack: a valid Bot Framework token for another channel, an admin's object id and
    our tenant copied into the activity, and a command that makes someone super admin."""
    return (
        world.activity(
            "admin", type="message", text="enrol admin add ann@acme.test", where="personal"
        )
        | fields
    )


@pytest.mark.parametrize(
    "case", ["webchat", "directline", "no channel", "host not teams", "host with userinfo"]
)
def test_only_teams_activities_on_a_teams_connector_host_are_accepted(world, case, caplog):
    # The Bot Framework's keys are endorsed for many channels, not only Teams.
    world.keys.jwks["keys"][0]["endorsements"] = ["msteams", "webchat", "directline"]
    elsewhere = world.service_url.replace("127.0.0.1", "localhost")  # the same server
    activity = {
        "webchat": lambda: webchat_admin_add(world, channelId="webchat"),
        "directline": lambda: webchat_admin_add(world, channelId="directline"),
        "no channel": lambda: {
            k: v for k, v in webchat_admin_add(world).items() if k != "channelId"
        },
        "host not teams": lambda: webchat_admin_add(world, serviceUrl=elsewhere),
        "host with userinfo": lambda: webchat_admin_add(
            world, serviceUrl=elsewhere.replace("://", "://127.0.0.1@")
        ),
    }[case]()
    before = (world.db.count(AuditEvent), world.db.count(AdminGrant), world.keys.fetches)
    response = world.send(activity)  # signed, with a serviceurl claim naming that URL
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized"}
    time.sleep(0.2)
    assert world.connector.sent == []
    assert (world.db.count(AuditEvent), world.db.count(AdminGrant), world.keys.fetches) == before
    assert "refused a Bot Framework request" in caplog.text
    # The same command from Teams itself works: the refusal was about where it came from.
    assert "ann@acme.test is now a super admin." in card_text(
        world.say("admin", "admin add ann@acme.test")
    )


def test_a_json_body_nested_too_deep_is_a_bad_request(world, caplog):
    deep = "[" * 100_000 + "]" * 100_000
    response = world.http.post(
        "/api/messages", content=deep, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "Traceback" not in caplog.text
    assert "enrolbot" in card_text(world.say("admin", "help"))  # and the bot still answers


@pytest.mark.parametrize("kind", ["invoke", "message"])
@pytest.mark.parametrize(
    "shape",
    ["no conversation", "conversation not an object", "no sender", "object id not a string"],
)
def test_an_activity_without_a_conversation_or_sender_is_a_bad_request(world, caplog, kind, shape):
    token, _ = world.post_card()
    activity = (
        enrol_invoke(world, token)
        if kind == "invoke"
        else world.activity("admin", type="message", text="enrol help")
    )
    if shape == "no conversation":
        del activity["conversation"]
    elif shape == "conversation not an object":
        activity["conversation"] = "19:ops@thread.tacv2"
    elif shape == "no sender":
        del activity["from"]
    else:
        activity["from"]["aadObjectId"] = {"id": "aad-boss"}
    before = (world.db.count(Enrolment), world.db.count(AuditEvent), len(world.connector.sent))
    response = world.send(activity)
    assert response.status_code == 400
    assert response.json() == {"error": "bad request"}
    time.sleep(0.2)
    assert "Traceback" not in caplog.text
    assert (
        world.db.count(Enrolment),
        world.db.count(AuditEvent),
        len(world.connector.sent),
    ) == before


def refusals(world: TeamsWorld) -> list[AuditEvent]:
    async def work(session):
        query = (
            select(AuditEvent)
            .where(AuditEvent.action.in_(["enrol.external", "enrol.anonymous", "command.refused"]))
            .order_by(AuditEvent.id)
        )
        return list((await session.execute(query)).scalars())

    return world.db.run(work)


def test_refusals_of_other_tenants_and_anonymous_people_are_audited(world):
    token, card_id = world.post_card()
    world.click("external", token, card_id)
    world.click("anon", token, card_id)
    world.say("external", "link create safety-101")
    world.invoke("anon", "linkDelete", {"link": "1"})
    rows = refusals(world)
    ext = f"teams:{OTHER_TENANT}:aad-ext"
    anon = f"teams:{TENANT}:29:anon"
    assert [(r.action, r.actor, r.link_id) for r in rows] == [
        ("enrol.external", ext, 1),
        ("enrol.anonymous", anon, 1),
        ("command.refused", ext, None),
        ("command.refused", anon, None),
    ]
    assert [r.detail for r in rows] == [
        {"channel": CHANNEL},
        {"channel": CHANNEL},
        {"reason": "external"},
        {"reason": "anonymous", "verb": "linkDelete"},
    ]
    assert rows[0].item_id is not None and rows[1].item_id == rows[0].item_id
    assert world.db.count(Enrolment) == 1
    assert world.db.count(EnrolmentLink) == 3
