"""Teams-only behaviour, end to end: the Bot Framework's authentication, per-user card views,
card forms, msal's token cache, alerts through the connector, and the app package."""

from __future__ import annotations

import html
import json
import re
import struct
import time
import zipfile

import jsonschema
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from sqlalchemy import event, select, update

from bot.teams import cards
from store.models import AdminGrant, AuditEvent, CatalogItem, Enrolment, EnrolmentLink
from tests.support.processes import enrolbot
from tests.support.teams_standin import APP_ID, OTHER_TENANT, TENANT
from tests.support.teams_world import CHANNEL, TeamsWorld, card_text, member


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


def test_the_clicker_sees_their_own_state_and_everyone_else_keeps_the_button(world):
    token, card_id = world.post_card()
    answer = world.invoke("ann", "enrol", {"token": token}, card_id=card_id)
    card = answer["value"]
    assert (
        answer["statusCode"] == 200 and answer["type"] == "application/vnd.microsoft.card.adaptive"
    )
    assert "Enrolled ✓" in card_text(card) and "actions" not in json.dumps(card["body"])
    assert (
        card["refresh"]["userIds"] == ["29:ann"]
        and card["refresh"]["action"]["verb"] == "enrolView"
    )
    [update] = world.connector.wait(lambda s: s.method == "PUT" and s.activity_id == card_id)
    shared = update.body["attachments"][0]["content"]
    assert shared["refresh"]["userIds"] == ["29:ann"]
    assert shared["body"][-1]["actions"][0]["title"] == "Enrol"  # others still see the button
    # When the card refreshes for someone, each sees their own state.
    assert "Enrolled ✓" in card_text(
        world.invoke("ann", "enrolView", {"token": token}, card_id=card_id)["value"]
    )
    # Dan completed it long ago: his click shows that, and so does every refresh after it.
    assert "Completed ✓" in world.click("done", token, card_id)
    assert "Completed ✓" in card_text(
        world.invoke("done", "enrolView", {"token": token}, card_id=card_id)["value"]
    )
    other = world.invoke("new", "enrolView", {"token": token}, card_id=card_id)["value"]
    assert other["body"][-1]["actions"][0]["verb"] == "enrol"
    assert world.db.enrolments() == [
        ("ann@acme.test", "safety-101", "enrolled"),
        ("done@acme.test", "safety-101", "completed"),
    ]


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


def test_link_create_without_a_label_opens_a_card_form_that_checks_the_label(world):
    world.say("admin", 'link create safety-101 --label "Intranet"')
    form = world.say("admin", "link create safety-101")
    inputs = [b for b in form["body"] if b["type"] == "Input.Text"]
    assert [(i["id"], i.get("isRequired", False)) for i in inputs] == [
        ("label", True),
        ("notes", False),
    ]
    assert form["actions"][0]["verb"] == "linkCreate" and form["actions"][0]["data"] == {
        "item": "safety-101"
    }
    again = world.invoke(
        "admin", "linkCreate", {"item": "safety-101", "label": "INTRANET", "notes": ""}
    )
    assert "Link 4 already has this label; choose another." in card_text(again["value"])
    assert world.db.count(EnrolmentLink) == 4
    done = world.invoke(
        "admin", "linkCreate", {"item": "safety-101", "label": "Wiki", "notes": "safety page"}
    )
    assert "Link 5 for Safety 101 (Wiki) is ready:" in card_text(done["value"])
    refused = world.invoke("ann", "linkCreate", {"item": "safety-101", "label": "Mine"})
    assert "Only enrolment admins can create links" in card_text(refused["value"])
    assert world.db.count(EnrolmentLink) == 5


def test_link_delete_asks_on_a_card_and_the_confirm_button_deletes(world):
    asked = world.say("admin", "link delete 1")
    assert "Delete Link 1 (Safety 101, default link)?" in card_text(asked)
    confirm, cancel = asked["actions"]
    assert (confirm["verb"], confirm["style"], confirm["data"]) == (
        "linkDelete",
        "destructive",
        {"link": "1"},
    )
    assert "Kept link 1; nothing changed." in card_text(
        world.invoke("admin", cancel["verb"], cancel["data"])["value"]
    )
    assert "Only enrolment admins can delete links" in card_text(
        world.invoke("ann", "linkDelete", {"link": "1"})["value"]
    )
    assert world.db.count(EnrolmentLink, EnrolmentLink.deleted_at.is_not(None)) == 0
    deleted = world.invoke("admin", "linkDelete", {"link": "1"})
    assert "is deleted: its buttons and URLs will never work again." in card_text(deleted["value"])
    assert world.db.count(EnrolmentLink, EnrolmentLink.deleted_at.is_not(None)) == 1


def test_commands_work_in_a_personal_chat_and_mentions_name_people(world):
    assert "What I can do for you" in card_text(world.say("admin", "help", where="personal"))
    activity = world.activity(
        "admin",
        type="message",
        text="<at>enrolbot</at> enrol admin add <at>Ann Lee</at> --standard",
        entities=[
            {
                "type": "mention",
                "text": "<at>enrolbot</at>",
                "mentioned": {"id": f"28:{APP_ID}", "name": "enrolbot"},
            },
            {
                "type": "mention",
                "text": "<at>Ann Lee</at>",
                "mentioned": {"id": "29:ann", "name": "Ann Lee"},
            },
        ],
    )
    assert world.send(activity).status_code == 200
    [reply] = world.connector.wait(lambda s: s.activity_id == activity["id"])
    assert "ann@acme.test is now a standard admin." in card_text(
        reply.body["attachments"][0]["content"]
    )


def test_msal_fetches_one_token_and_reuses_it(world):
    for _ in range(3):
        world.say("admin", "help")
    token, card_id = world.post_card()
    world.click("ann", token, card_id)
    assert world.entra.token_requests == 1
    assert world.connector.bad_tokens == 0


def test_alerts_reach_a_teams_channel_and_a_429_is_waited_out(world):
    assert "now gets instant alerts" in card_text(world.say("admin", "notify safety-101"))
    token, card_id = world.post_card()
    world.connector.fail_next(429, {"Retry-After": "2"}, conversation=CHANNEL)
    world.click("ann", token, card_id)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        alerts = [
            s
            for s in world.connector.sent
            if s.conversation == CHANNEL
            and s.activity_id is None
            and "enrolled themselves" in json.dumps(s.body)
        ]
        if any(not a.failed for a in alerts):
            break
        time.sleep(0.05)
    limited, delivered = alerts
    assert limited.failed and not delivered.failed and delivered.at - limited.at >= 2
    assert "Ann Lee (staff) enrolled themselves in Safety 101" in card_text(
        delivered.body["attachments"][0]["content"]
    )


def test_a_removed_bot_stops_alerts_and_tells_the_admin_in_a_direct_message(world):
    world.say("admin", "notify all")
    token, card_id = world.post_card()
    world.connector.fail_next(403, conversation=CHANNEL)
    world.click("ann", token, card_id)
    [dm] = world.connector.wait(lambda s: s.conversation == "a:dm-29:boss" and s.method == "POST")
    assert "have stopped" in card_text(dm.body["attachments"][0]["content"])


def test_the_app_package_holds_a_valid_manifest_and_the_two_icons(tmp_path, schemas):
    result = enrolbot(
        "teams",
        "package",
        "--out",
        str(tmp_path / "app.zip"),
        cwd=tmp_path,
        MICROSOFT_APP_ID=APP_ID,
        ENROLBOT_PUBLIC_URL="https://enrol.acme.test",
    )
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "app.zip") as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        sizes = {
            n: struct.unpack(">II", archive.read(n)[16:24]) for n in ("color.png", "outline.png")
        }
    schema = json.loads((schemas / "teams-app-manifest.v1.30.schema.json").read_text())
    jsonschema.Draft4Validator(schema).validate(manifest)
    assert manifest["id"] == manifest["bots"][0]["botId"] == APP_ID
    assert manifest["validDomains"] == ["enrol.acme.test"]
    assert sizes == {"color.png": (192, 192), "outline.png": (32, 32)}
    refused = enrolbot("teams", "package", cwd=tmp_path)
    assert refused.returncode == 1 and "MICROSOFT_APP_ID is not set" in refused.stderr


def test_an_unknown_item_card_button_and_bad_json_are_answered(world):
    assert world.http.post("/api/messages", content=b"{not json").status_code == 401
    answer = world.invoke("admin", "frobnicate", {})
    assert answer["value"] == "That button is not one I know."
    assert "isn't valid" in world.click("ann", "garbage-token")
    assert world.db.count(Enrolment) == 1


# Who may speak as Teams ----------------------------------------------------------------------


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


def test_a_person_mentioned_300_times_is_looked_up_once(world):
    world.say("admin", "help")  # the admin is known from here on
    mention = {
        "type": "mention",
        "text": "<at>Ann Lee</at>",
        "mentioned": {"id": "29:ann", "name": "Ann Lee"},
    }
    activity = world.activity(
        "admin",
        type="message",
        text="enrol admin add " + " ".join(["<at>Ann Lee</at>"] * 300) + " --standard",
        where="personal",
        entities=[mention] * 300,
    )
    assert world.send(activity).status_code == 200
    [reply] = world.connector.wait(lambda s: s.activity_id == activity["id"])
    assert "I didn't expect" in card_text(reply.body["attachments"][0]["content"])
    assert world.connector.lookups("29:ann") == 1


def test_many_different_people_in_one_message_are_not_all_looked_up(world):
    world.say("admin", "help")
    for n in range(40):
        world.connector.add_member(member(f"p{n}", f"p{n}@acme.test", "P", str(n)))
    activity = world.activity(
        "admin",
        type="message",
        text="enrol admin add " + " ".join(f"<at>P {n}</at>" for n in range(40)),
        where="personal",
        entities=[
            {"type": "mention", "text": f"<at>P {n}</at>", "mentioned": {"id": f"29:p{n}"}}
            for n in range(40)
        ],
    )
    assert world.send(activity).status_code == 200
    world.connector.wait(lambda s: s.activity_id == activity["id"])
    assert sum(world.connector.lookups(f"29:p{n}") for n in range(40)) == 10


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


def test_a_stalled_entra_id_token_request_gives_up_and_the_user_is_told(world, monkeypatch):
    monkeypatch.setattr("bot.teams.connector.TIMEOUT_SECONDS", 0.5)
    world.entra.stalls.append(3)  # the first token request hangs; the next one answers
    started = time.monotonic()
    reply = world.say("admin", "help")
    assert "Sorry, something went wrong on our side" in card_text(reply)
    assert time.monotonic() - started < 2.5


# What people typed is shown as they typed it --------------------------------------------------

# Teams on desktop and the web renders TextBlocks with markdown-it; markdown-it-py is its port.
RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": True}).enable("linkify")
EVIL = "[Verify your account](https://evil.example)"


def rendered(markdown: str) -> str:
    return RENDERER.render(markdown)


def disguised_links(page: str) -> list[tuple[str, str]]:
    """Links whose text is not their destination: a bare URL or domain made a link, showing
    itself, is fine; "Verify your account" leading to evil.example is not."""

    def bare(url: str) -> str:
        url = re.sub(r"^(https?://|mailto:)", "", html.unescape(url).replace("\u200b", ""))
        return url.lower().rstrip("/")

    return [
        (href, shown)
        for href, shown in re.findall(r'<a href="([^"]*)">(.*?)</a>', page)
        if bare(RENDERER.normalizeLinkText(html.unescape(href))) != bare(shown)
    ]


def assert_shown_literally(content: dict, *typed: str) -> None:
    """Each TextBlock renders with no link other than a bare URL showing itself, no emphasis,
    list, heading or quote that a person's text made; and what they typed reads as typed."""
    blocks = [b["text"] for b in _text_blocks(content)]
    read = []
    for text in blocks:
        page = rendered(text)
        assert not disguised_links(page), (text, page)
        assert not re.search(r"<(em|ul|ol|li|h\d|blockquote|hr|code)\b", page), (text, page)
        plain = html.unescape(re.sub(r"<[^>]+>", "", page)).replace("\u200b", "")
        read.append(" ".join(plain.split()))
    for words in typed:
        assert any(words in line for line in read), (words, read)


def _text_blocks(node: object) -> list[dict]:
    if isinstance(node, list):
        return [b for n in node for b in _text_blocks(n)]
    if isinstance(node, dict):
        found = [node] if node.get("type") == "TextBlock" else []
        return found + [b for v in node.values() for b in _text_blocks(v)]
    return []


@given(
    st.text(
        st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="&<"),
        max_size=60,
    ).map(str.strip)
)
@settings(max_examples=400, deadline=None)
def test_any_typed_text_renders_as_typed_and_links_nothing(typed):
    page = rendered(cards.escape(typed))
    assert not disguised_links(page)
    plain = html.unescape(re.sub(r"<[^>]+>", "", page)).replace("\u200b", "").strip()
    assert " ".join(plain.split()) == " ".join(typed.split())


def test_a_guests_markdown_link_comes_back_as_plain_text(world):
    reply = world.say("guest", f'"{EVIL}"')
    assert_shown_literally(reply)
    if "evil.example" in json.dumps(reply):  # echoed: then exactly as typed
        assert EVIL in card_text(reply)


def test_labels_and_titles_on_cards_read_as_typed(world):
    label = f"{EVIL} **now**"
    created = world.say("admin", f"link create safety-101 --label '{label}'")
    assert_shown_literally(created, f"({label}) is ready:")
    assert_shown_literally(world.say("admin", "link list safety-101"), label)
    assert_shown_literally(world.say("admin", "link delete 4"), label)
    title = "- [Win a prize](https://evil.example) _today_"
    world.db.run(rename("safety-101", title))
    token, card_id = world.post_card()
    [posted] = [s for s in world.connector.sent if s.new_id == card_id]
    card = posted.body["attachments"][0]["content"]
    assert_shown_literally(card, title)
    assert_shown_literally(
        world.invoke("ann", "enrol", {"token": token}, card_id=card_id)["value"],
        title,
        f"You're enrolled in {title}.",
    )
    form = world.say("admin", "link create safety-101")
    assert_shown_literally(form, f"A new link for {title}.")


def rename(slug: str, title: str):
    async def work(session):
        await session.execute(
            update(CatalogItem).where(CatalogItem.slug == slug).values(title=title)
        )

    return work


# A click is one token check ------------------------------------------------------------------


def test_a_click_checks_its_token_once(world):
    token, card_id = world.post_card()
    world.click("ann", token, card_id)  # Ann is met and linked to her account
    link_reads: list[str] = []

    def count(conn, cursor, statement, *rest):
        if re.search(r"FROM enrolment_link\b", statement):
            link_reads.append(statement)

    engine = world.app.state.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert "You're already enrolled in Safety 101" in world.click("ann", token, card_id)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(link_reads) == 1
