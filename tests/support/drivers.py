"""One way to drive Slack and Teams alike, so behaviour scenarios are written once and run on
both platforms: who types what, who clicks, and the plain text each of them reads."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.slack_world import ADMIN, ANN, SlackWorld, text_of
from tests.support.teams_world import CHANNEL, TeamsWorld, card_text

SLACK_USERS = {
    "admin": ADMIN,
    "ann": ANN,
    "done": "U0DONE",
    "new": "U0NEW",
    "off": "U0OFF",
    "nomail": "U0NOMAIL",
    "guest": "U0GUEST",
    "external": "U0STRANGER",
}


def plain(text: str) -> str:
    """What a person reads, without the platform's markup."""
    text = re.sub(r"^:[a-z_]+: ", "", text, flags=re.MULTILINE)
    text = text.replace("`", "").replace("*", "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class SlackDriver:
    name = "slack"

    def __init__(self, world: SlackWorld) -> None:
        self.world = world
        self.db = world.db

    def command(self, who: str, text: str) -> str:
        return plain(text_of(self.world.command(SLACK_USERS[who], text)))

    def post(self, item: str = "safety-101") -> str:
        self.world.command(ADMIN, f"post {item} <#C0OPS|ops>")
        message = self.world.slack.calls_of("chat.postMessage")[-1].args
        return message["blocks"][1]["elements"][0]["value"]

    def click(self, who: str, token: str) -> str:
        return plain(text_of(self.world.click(SLACK_USERS[who], token).reply))

    def subscribe_here(self, item: str) -> str:
        return plain(text_of(self.world.command(ADMIN, f"notify {item} <#C0OPS|ops>")))

    def alerts(self, count: int) -> list[str]:
        return [
            plain(text_of(m))
            for m in self.world.wait_messages("C0OPS", count)
            if "enrolled themselves" in text_of(m)
        ]


class TeamsDriver:
    name = "teams"

    def __init__(self, world: TeamsWorld) -> None:
        self.world = world
        self.db = world.db
        self.cards: dict[str, str] = {}

    def command(self, who: str, text: str) -> str:
        return plain(card_text(self.world.say(who, text)))

    def post(self, item: str = "safety-101") -> str:
        token, card_id = self.world.post_card(item)
        self.cards[token] = card_id
        return token

    def click(self, who: str, token: str) -> str:
        return plain(self.world.click(who, token, self.cards.get(token, "card-x")))

    def subscribe_here(self, item: str) -> str:
        return plain(card_text(self.world.say("admin", f"notify {item}")))

    def alerts(self, count: int) -> list[str]:
        messages = self.world.wait_messages(CHANNEL, count)
        texts = [card_text(m["attachments"][0]["content"]) for m in messages]
        return [plain(t) for t in texts if "enrolled themselves" in t]


def open_world(platform: str, db_url: str, workdir: Path, **kw):
    if platform == "slack":
        return SlackWorld(db_url, **kw), SlackDriver
    return TeamsWorld(db_url, workdir, **kw), TeamsDriver
