"""A Teams tenant for end-to-end tests: the real enrolbot app over HTTP, with the Bot
Framework's keys, its connector and Entra ID standing in beside it, and a driver that sends
what Teams sends."""

from __future__ import annotations

import copy
import itertools
import json
import re
from pathlib import Path

import httpx
import jsonschema

from bot.app import create_app
from bot.settings import Settings
from tests.support import seed
from tests.support.servers import ServedApp
from tests.support.syncdb import SyncDB
from tests.support.teams_standin import (
    APP_ID,
    OTHER_TENANT,
    TENANT,
    BotFrameworkKeys,
    Connector,
    EntraId,
)
from tests.support.waiting import wait_messages

CHANNEL = "19:ops@thread.tacv2"
TEAM = "19:team@thread.tacv2"  # the team CHANNEL belongs to; also its General channel's id
TEAM_NAME = "Acme Ops"
BOT = f"28:{APP_ID}"
SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def member(key: str, email: str | None, first: str, last: str, **extra: object) -> dict:
    m = {
        "id": f"29:{key}",
        "objectId": f"aad-{key}",
        "name": f"{first} {last}",
        "givenName": first,
        "surname": last,
        "userRole": "user",
        "tenantId": TENANT,
    }
    if email:
        m["email"] = email
        m["userPrincipalName"] = email
    return m | extra


DIRECTORY = {
    "admin": member("boss", "boss@acme.test", "Bo", "Boss"),
    "ann": member("ann", "Ann@Acme.test", "Ann", "Lee"),
    "done": member("done", "done@acme.test", "Dan", "Done"),
    "new": member("new", "new@acme.test", "Nia", "New"),
    "off": member("off", "off@acme.test", "Ola", "Off"),
    "nomail": member("nomail", None, "Noe", "Mail"),
    "guest": member(
        "guest",
        "guest@partner.test",
        "Gus",
        "Guest",
        userRole="guest",
        userPrincipalName="guest_partner.test#EXT#@acme.onmicrosoft.com",
    ),
    "external": member("ext", "x@other.test", "Stu", "Stranger", tenantId=OTHER_TENANT),
    "anon": {"id": "29:anon", "name": "Anon1 (Guest)", "userRole": "anonymous", "tenantId": TENANT},
}


def _account(key: str) -> dict:
    """A member as membersAdded / membersRemoved name them: ids only."""
    if key == "bot":
        return {"id": BOT}
    m = DIRECTORY.get(key) or {"id": f"29:{key}", "objectId": f"aad-{key}"}
    return {"id": m["id"], "aadObjectId": m["objectId"]} if m.get("objectId") else {"id": m["id"]}


def card_text(content: dict) -> str:
    """Every TextBlock, rich text block and fact a person reads on a card (see as_read)."""
    parts: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextBlock":
                parts.append(node["text"])
            if node.get("type") == "RichTextBlock":  # runs are shown as typed, side by side
                parts.append("".join(run["text"] for run in node["inlines"]))
            if node.get("type") == "FactSet":
                parts.extend(f"{f['title']}: {f['value']}" for f in node["facts"])
            for value in node.values():
                if isinstance(value, (dict, list)):
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(content.get("body", []))
    return as_read("\n".join(parts))


def as_read(markdown: str) -> str:
    """A TextBlock's text as a person reads it: our bold marks gone, escapes undone, the
    zero-width spaces that break links invisible."""
    text = re.sub(r"(?<!\\)\*\*", "", markdown)
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text).replace("\u200b", "")


class TeamsWorld:
    def __init__(
        self, db_url: str, workdir: Path, *, auto_provision: bool = False, **settings: str
    ) -> None:
        self.db = SyncDB(db_url)
        self.db.run(seed.organisation(auto_provision))
        self.keys = BotFrameworkKeys()
        self.connector = Connector()
        for m in copy.deepcopy(DIRECTORY).values():
            self.connector.add_member(m)
        self.entra = EntraId(workdir)
        self._servers = [
            ServedApp(self.keys.app),
            ServedApp(self.connector.app),
            ServedApp(
                self.entra.app,
                ssl={"ssl_certfile": self.entra.cert_file, "ssl_keyfile": self.entra.key_file},
            ),
        ]
        self._settings = (
            dict(
                DATABASE_URL=db_url,
                ENROLBOT_SECRET_KEY="test-key-of-thirty-two-bytes-0123",
                ENROLBOT_PUBLIC_URL="https://enrol.acme.test",
                ENROLBOT_ADMINS="boss@acme.test",
                MICROSOFT_APP_ID=APP_ID,
                MICROSOFT_APP_PASSWORD="app-password",
                MICROSOFT_APP_TENANT_ID=TENANT,
                MICROSOFT_CA_BUNDLE=self.entra.ca_file,
                ENROLBOT_DELIVERY_SECONDS="0.2",
                # The stand-in connector is the only Teams connector host here.
                TEAMS_SERVICE_URL_HOSTS="127.0.0.1",
            )
            | settings
        )
        self._ids = itertools.count(1)
        self.cards: list[dict] = []  # every card the bot showed anyone, for schema checks
        # The team's name as channel messages carry it in channelData.team (None: left out, as
        # Teams sometimes does; then the bot asks the connector).
        self.team_name: str | None = TEAM_NAME
        self.connector.team_names[TEAM] = TEAM_NAME

    def __enter__(self) -> TeamsWorld:
        for server in self._servers:
            server.__enter__()
        keys, connector, entra = self._servers
        self.keys.url, self.connector.url = keys.url, connector.url
        self.entra.url = entra.url.replace("127.0.0.1", "localhost")
        self.service_url = connector.url + "/"
        self.app = app = create_app(
            Settings(
                _env_file=None,
                BOTFRAMEWORK_OPENID_METADATA=f"{keys.url}/v1/.well-known/openidconfiguration",
                MICROSOFT_AUTHORITY_HOST=self.entra.url,
                **self._settings,
            )
        )
        self._bot = ServedApp(app).__enter__()
        self.http = httpx.Client(base_url=self._bot.url, timeout=20)
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        self._bot.__exit__()
        for server in reversed(self._servers):
            server.__exit__()
        if exc[0] is None:
            self.check_cards()

    def check_cards(self) -> None:
        """Every card shown validates against Adaptive Cards 1.5, with type and version set."""
        schema = json.loads((SCHEMAS / "adaptive-card.1.5.0.schema.json").read_text())
        validator = jsonschema.Draft6Validator(schema)
        for sent in self.connector.sent:
            for attachment in sent.body.get("attachments", []):
                if attachment["contentType"] == "application/vnd.microsoft.card.adaptive":
                    self.cards.append(attachment["content"])
        assert self.cards, "no card was shown"
        for content in self.cards:
            assert (content["type"], content["version"]) == ("AdaptiveCard", "1.5")
            validator.validate(content)

    # Sending what Teams sends ----------------------------------------------------------------

    def activity(self, who: str, *, where: str = "channel", **fields: object) -> dict:
        m = DIRECTORY[who]
        tenant = m.get("tenantId", TENANT)
        conversation = (
            {"id": f"{CHANNEL};messageid=root1", "conversationType": "channel", "isGroup": True}
            if where == "channel"
            else {"id": f"a:personal-{m['id']}", "conversationType": "personal"}
        )
        channel_data = {"tenant": {"id": tenant}}
        if where == "channel":
            channel_data |= {
                "channel": {"id": CHANNEL, "name": "ops"},
                "team": {"id": TEAM, "name": self.team_name} if self.team_name else {"id": TEAM},
            }
        sender = {"id": m["id"], "name": m["name"]}
        if m.get("objectId"):
            sender["aadObjectId"] = m["objectId"]
        return {
            "id": f"msg-{next(self._ids)}",
            "channelId": "msteams",
            "serviceUrl": self.service_url,
            "timestamp": "2026-11-22T10:00:00Z",
            "from": sender,
            "recipient": {"id": BOT, "name": "enrolbot"},
            "conversation": conversation | {"tenantId": tenant},
            "channelData": channel_data,
        } | fields

    def team_update(
        self,
        event: str,
        *,
        added: tuple[str, ...] = (),
        removed: tuple[str, ...] = (),
        by: str = "admin",
        name: str = TEAM_NAME,
    ) -> httpx.Response:
        """A conversationUpdate in the team, as Teams sends it (teamMemberAdded,
        teamMemberRemoved, teamRenamed, teamDeleted), signed by the Bot Framework. `added` and
        `removed` name DIRECTORY entries, or "bot" for the bot itself; Teams gives only their
        ids."""
        sender = DIRECTORY[by]
        activity: dict = {
            "type": "conversationUpdate",
            "id": f"f:update-{next(self._ids)}",
            "channelId": "msteams",
            "serviceUrl": self.service_url,
            "timestamp": "2026-11-22T10:00:00Z",
            "from": {"id": sender["id"], "aadObjectId": sender["objectId"]},
            "recipient": {"id": BOT, "name": "enrolbot"},
            "conversation": {
                "isGroup": True,
                "conversationType": "channel",
                "tenantId": TENANT,
                "id": TEAM,
            },
            "channelData": {
                "team": {
                    "id": TEAM,
                    "name": name,
                    "aadGroupId": "b7a1c3d4-0000-4000-8000-0000000000aa",
                },
                "eventType": event,
                "tenant": {"id": TENANT},
            },
        }
        if added:
            activity["membersAdded"] = [_account(k) for k in added]
        if removed:
            activity["membersRemoved"] = [_account(k) for k in removed]
        response = self.send(activity)
        assert response.status_code == 200, response.text
        return response

    def app_removed(self) -> httpx.Response:
        """The installationUpdate Teams sends when someone removes the app from the team."""
        activity = self.activity("admin", type="installationUpdate", action="remove")
        activity["id"] = f"f:install-{next(self._ids)}"
        activity["conversation"]["id"] = TEAM
        response = self.send(activity)
        assert response.status_code == 200, response.text
        return response

    def send(self, activity: dict, token: str | None = None, **headers: str) -> httpx.Response:
        if token is None:
            token = self.keys.sign(activity["serviceUrl"])
        return self.http.post(
            "/api/messages",
            content=json.dumps(activity),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {token}",
                **headers,
            },
        )

    def say(
        self, who: str, text: str, *, where: str = "channel", mentions: dict[str, str] | None = None
    ) -> dict:
        """Send `enrol TEXT` to the bot (with an @mention in a channel); the card it replies with.
        `mentions` names the people TEXT mentions as <at>Name</at>, by their Teams id."""
        mention = "<at>enrolbot</at> " if where == "channel" else ""
        named = {**({"enrolbot": BOT} if mention else {}), **(mentions or {})}
        activity = self.activity(
            who,
            where=where,
            type="message",
            text=f"{mention}enrol {text}".strip(),
            entities=[
                {
                    "type": "mention",
                    "text": f"<at>{name}</at>",
                    "mentioned": {"id": i, "name": name},
                }
                for name, i in named.items()
            ],
        )
        response = self.send(activity)
        assert response.status_code == 200, response.text
        [reply] = self.connector.wait(lambda s: s.activity_id == activity["id"] and not s.failed)
        return reply.body["attachments"][0]["content"]

    def send_file(self, who: str, name: str, content: bytes, text: str | None = None) -> dict:
        """Send the bot a file in the personal chat, as Teams does (a file.download.info
        attachment whose downloadUrl the connector serves), with `text` as the message's words
        if given; the card it replies with."""
        self.connector.downloads[name] = content
        attachment = {
            "contentType": "application/vnd.microsoft.teams.file.download.info",
            "contentUrl": f"https://acme-my.sharepoint.test/personal/boss/Documents/{name}",
            "name": name,
            "content": {
                "downloadUrl": f"{self.connector.url}/download/{name}",
                "uniqueId": "5B0C1A34-0000-4000-8000-00000000F11E",
                "fileType": name.rsplit(".", 1)[-1],
            },
        }
        activity = self.activity(who, where="personal", type="message", attachments=[attachment])
        if text is not None:
            activity["text"] = text
        response = self.send(activity)
        assert response.status_code == 200, response.text
        [reply] = self.connector.wait(lambda s: s.activity_id == activity["id"] and not s.failed)
        return reply.body["attachments"][0]["content"]

    def invoke(self, who: str, verb: str, data: dict, *, card_id: str = "card-1") -> dict:
        """Press an Action.Execute button on a card; the HTTP answer (the card the presser sees)."""
        activity = self.activity(
            who,
            type="invoke",
            name="adaptiveCard/action",
            replyToId=card_id,
            value={
                "action": {"type": "Action.Execute", "verb": verb, "data": data},
                "trigger": "manual",
            },
        )
        response = self.send(activity)
        assert response.status_code == 200, response.text
        answer = response.json()
        if answer.get("type") == "application/vnd.microsoft.card.adaptive":
            self.cards.append(answer["value"])
        return answer

    def post_card(self, item: str = "safety-101") -> tuple[str, str]:
        """The admin posts an Enrol card in the channel: (its token, the card's message id)."""
        before = len(self.connector.sent)
        self.say("admin", f"post {item}")
        [posted] = [
            s for s in self.connector.sent[before:] if s.method == "POST" and s.activity_id is None
        ]
        card = posted.body["attachments"][0]["content"]
        action = card["body"][-1]["actions"][0]
        return action["data"]["token"], posted.new_id

    def click(self, who: str, token: str, card_id: str = "card-1") -> str:
        answer = self.invoke(who, "enrol", {"token": token}, card_id=card_id)
        return card_text(answer["value"])

    def messages_to(self, conversation: str) -> list[dict]:
        return [
            s.body
            for s in self.connector.sent
            if s.method == "POST"
            and s.activity_id is None
            and s.conversation == conversation
            and not s.failed
        ]

    def wait_messages(self, conversation: str, count: int, timeout: float = 15) -> list[dict]:
        return wait_messages(lambda: self.messages_to(conversation), conversation, count, timeout)
