"""A Slack workspace for end-to-end tests: the real enrolbot app over HTTP, Slack's stand-in
beside it, and a driver that types commands and clicks buttons as Slack would send them."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from bot.app import create_app
from bot.settings import Settings
from tests.support import seed
from tests.support.servers import ServedApp
from tests.support.slack_standin import OTHER_TEAM, TEAM, SlackStandIn, member
from tests.support.syncdb import SyncDB
from tests.support.waiting import wait_messages

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
PUBLIC_URL = "https://enrol.acme.test"

ADMIN = "U0BOSS"
ANN = "U0ANN"

DIRECTORY = [
    member(ADMIN, "boss@acme.test", "Bo", "Boss"),
    member(ANN, "Ann@Acme.test", "Ann", "Lee"),
    member("U0DONE", "done@acme.test", "Dan", "Done"),
    member("U0NEW", "new@acme.test", "Nia", "New"),
    member("U0OFF", "off@acme.test", "Ola", "Off"),
    member("U0NOMAIL", None, "Noe", "Mail"),
    member("U0GUEST", "guest@partner.test", "Gus", "Guest", is_restricted=True),
    member(
        "U0SCG", "scg@partner.test", "Sam", "Single", is_restricted=True, is_ultra_restricted=True
    ),
    member("U0STRANGER", "x@other.test", "Stu", "Stranger", is_stranger=True, team_id=OTHER_TEAM),
    member("U0GONE", "gone@acme.test", "Gil", "Gone", deleted=True),
    member("U0ROBOT", None, "Robo", "Bot", is_bot=True),
]


def slack_signature(body: str, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict:
    """The headers Slack signs a request with (v0 HMAC-SHA256 over version, time and body)."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def action_body(
    user: str,
    action_id: str,
    value: str,
    response_url: str,
    team: str = TEAM,
    channel: str = "C0OPS",
    *,
    sent_from: str = TEAM,
    enterprise: str | None = None,
    trigger_id: str = "1700000000.1.0badc0ffee",
) -> str:
    """A block_actions request body: someone of `team` pressed a button (the Enrol button:
    "enrol"); `sent_from` is the workspace the payload names, `enterprise` its organisation."""
    payload = {
        "type": "block_actions",
        "team": {"id": sent_from, "domain": "acme"},
        "enterprise": {"id": enterprise, "name": "Acme Group"} if enterprise else None,
        "is_enterprise_install": False,
        "user": {"id": user, "team_id": team, "username": user.lower()},
        "api_app_id": "A0ENROL",
        "token": "legacy",
        "trigger_id": trigger_id,
        "channel": {"id": channel},
        "container": {"type": "message", "channel_id": channel},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b",
                "value": value,
                "action_ts": str(time.time()),
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def command_body(user: str, text: str, channel: str, response_url: str, **extra: str) -> str:
    """A `/enrol TEXT` slash command, as Slack posts it."""
    form = {
        "token": "legacy",
        "team_id": TEAM,
        "team_domain": "acme",
        "channel_id": channel,
        "channel_name": channel.lower(),
        "user_id": user,
        "user_name": user.lower(),
        "command": "/enrol",
        "text": text,
        "api_app_id": "A0ENROL",
        "response_url": response_url,
        "trigger_id": f"{int(time.time())}.0.0badc0ffee",
        **extra,
    }
    return urlencode(form)


@dataclass
class Clicked:
    status: int
    reply: dict

    @property
    def text(self) -> str:
        return self.reply["blocks"][0]["text"]["text"]


class SlackWorld:
    def __init__(
        self,
        db_url: str,
        *,
        auto_provision: bool = False,
        enterprise: str | None = None,
        **settings: str,
    ) -> None:
        self.db = SyncDB(db_url)
        self.slack = SlackStandIn(enterprise=enterprise)
        # A copy per world: a test that edits a member's profile edits only its own world.
        for user in copy.deepcopy(DIRECTORY):
            self.slack.add_user(user)
        self.slack.add_channel("C0OPS")
        self.slack.add_channel("C0GENERAL")
        self.slack.add_channel("C0SECRET", private=True, member=False)
        self.slack.add_channel("C0OLD", archived=True)
        self._standin = ServedApp(self.slack.app)
        self._settings = (
            dict(
                DATABASE_URL=db_url,
                ENROLBOT_SECRET_KEY="test-key-of-thirty-two-bytes-0123",
                ENROLBOT_PUBLIC_URL=PUBLIC_URL,
                ENROLBOT_ADMINS="boss@acme.test",
                SLACK_SIGNING_SECRET=SIGNING_SECRET,
                SLACK_BOT_TOKEN=BOT_TOKEN,
            )
            | settings
        )
        self._seed(auto_provision)

    def __enter__(self) -> SlackWorld:
        self._standin.__enter__()
        self.slack.url = self._standin.url
        app = create_app(
            Settings(_env_file=None, SLACK_API_URL=f"{self._standin.url}/api/", **self._settings)
        )
        self._bot = ServedApp(app).__enter__()
        self.http = httpx.Client(base_url=self._bot.url, timeout=15)
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        self._bot.__exit__()
        self._standin.__exit__()

    def _seed(self, auto_provision: bool) -> None:
        self.db.run(seed.organisation(auto_provision))

    # Sending what Slack sends -------------------------------------------------------------------

    def signed_post(
        self,
        body: str,
        *,
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
        headers: dict | None = None,
    ) -> httpx.Response:
        return self.http.post(
            "/slack/events",
            content=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                **slack_signature(body, secret, timestamp),
                **(headers or {}),
            },
        )

    def command(self, user: str, text: str, channel: str = "C0GENERAL", **extra: str) -> dict:
        """Type `/enrol TEXT`; the reply the user sees. `extra` sets other fields of the form
        (`channel_name`, or `team_id` for a request naming another workspace)."""
        response_url = self.slack.new_response_url()
        response = self.command_request(user, text, channel, response_url, **extra)
        assert response.status_code == 200, response.text
        return self.slack.wait_response(response_url)[0]

    def command_request(
        self, user: str, text: str, channel: str, response_url: str, **extra: str
    ) -> httpx.Response:
        extra.setdefault("trigger_id", self.slack.issue_trigger())
        return self.signed_post(command_body(user, text, channel, response_url, **extra))

    def event(self, event: dict, *, team: str = TEAM) -> httpx.Response:
        """An Events API callback carrying `event`, as Slack posts it (JSON, signed)."""
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": team,
                "api_app_id": "A0ENROL",
                "type": "event_callback",
                "event_id": f"Ev{time.monotonic_ns()}",
                "event_time": int(time.time()),
                "event": event,
            }
        )
        return self.signed_post(body, headers={"Content-Type": "application/json"})

    def interaction(self, payload: dict, **kw) -> httpx.Response:
        return self.signed_post(urlencode({"payload": json.dumps(payload)}), **kw)

    def press(
        self,
        user: str,
        action_id: str,
        value: str,
        *,
        team: str = TEAM,
        channel: str = "C0OPS",
        sent_from: str = TEAM,
        enterprise: str | None = None,
        **kw,
    ) -> tuple[httpx.Response, str]:
        response_url = self.slack.new_response_url()
        body = action_body(
            user,
            action_id,
            value,
            response_url,
            team,
            channel,
            sent_from=sent_from,
            enterprise=enterprise,
            trigger_id=self.slack.issue_trigger(),
        )
        return self.signed_post(body, **kw), response_url

    def click(self, user: str, token: str, **kw) -> Clicked:
        """Click an Enrol button carrying `token`; what the clicker sees."""
        response, response_url = self.press(user, "enrol", token, **kw)
        assert response.status_code == 200, response.text
        return Clicked(response.status_code, self.slack.wait_response(response_url)[0])

    def submit_form(self, user: str, view: dict, label: str, notes: str = "") -> httpx.Response:
        return self.submit_view(
            user,
            view,
            {
                "label": {"value": {"type": "plain_text_input", "value": label}},
                "notes": {"value": {"type": "plain_text_input", "value": notes or None}},
            },
        )

    def submit_view(
        self, user: str, view: dict, values: dict, *, team: str = TEAM
    ) -> httpx.Response:
        """A view_submission of `view` (as views.open answered it) with these state values, by
        `user` of `team`."""
        payload = {
            "type": "view_submission",
            "team": {"id": team},
            "user": {"id": user, "team_id": team},
            "api_app_id": "A0ENROL",
            "trigger_id": self.slack.issue_trigger(),
            "view": {**view, "id": view.get("id", "V1"), "state": {"values": values}},
        }
        return self.interaction(payload)

    # Reading what people saw ----------------------------------------------------------------------

    def messages_to(self, channel: str) -> list[dict]:
        """What the bot posted in a channel (or a DM, by user id), in order."""
        return [
            c.args
            for c in self.slack.calls_of("chat.postMessage")
            if c.args["channel"] == channel and not c.failed
        ]

    def wait_messages(self, channel: str, count: int, timeout: float = 15) -> list[dict]:
        return wait_messages(lambda: self.messages_to(channel), channel, count, timeout)

    def posted_button(self, channel: str = "C0OPS") -> str:
        """Post the Safety 101 button as the admin; the token in its Enrol button."""
        self.command(ADMIN, f"post safety-101 <#{channel}|ops>")
        message = self.slack.calls_of("chat.postMessage")[-1].args
        blocks = (
            json.loads(message["blocks"])
            if isinstance(message["blocks"], str)
            else message["blocks"]
        )
        return blocks[1]["elements"][0]["value"]


def text_of(message: dict) -> str:
    """All the text a person reads in a message, blocks and all."""
    parts: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                parts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("blocks", []))
    return "\n".join(parts)
