"""A stand-in for Slack's Web API and `response_url`, served over real HTTP.

It keeps a directory of users the test controls, records every call, and can be told to fail
the next calls of a method (429 with Retry-After, 500) to prove the bot retries.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.slack_directory_standin import SlackDirectoryStandIn
from tests.support.slack_files_standin import SlackFiles

TEAM = "T0ACME"
OTHER_TEAM = "T0OTHER"
SISTER_TEAM = "T0SISTER"  # another workspace of Acme's Enterprise Grid organisation
ENTERPRISE = "E0ACME"
BOT_USER = "U0BOT"
TRIGGER_SECONDS = 3  # how long a trigger_id may be exchanged, per Slack's docs


def member(uid: str, email: str | None, first: str, last: str, **flags: Any) -> dict:
    profile = {"first_name": first, "last_name": last, "real_name": f"{first} {last}"}
    if email is not None:
        profile["email"] = email
    return {
        "id": uid,
        "team_id": flags.pop("team_id", TEAM),
        "name": first.lower(),
        "deleted": False,
        "is_bot": False,
        "profile": profile,
        **flags,
    }


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float = 0.0  # time.monotonic() when it arrived
    failed: bool = False  # answered with a scripted failure


def grid_member(uid: str, email: str, first: str, last: str, team: str = SISTER_TEAM) -> dict:
    """A member of another workspace of an Enterprise Grid organisation, as users.info shows
    one: their own team, and the organisation in `enterprise_user`."""
    return member(
        uid,
        email,
        first,
        last,
        team_id=team,
        enterprise_user={
            "id": uid,
            "enterprise_id": ENTERPRISE,
            "enterprise_name": "Acme Group",
            "is_admin": False,
            "is_owner": False,
            "teams": [team],
        },
    )


@dataclass
class SlackStandIn(SlackFiles, SlackDirectoryStandIn):
    users: dict[str, dict] = field(default_factory=dict)
    # channel id -> {"name": str, "private": bool, "member": bool, "archived": bool}
    channels: dict[str, dict] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    responses: dict[str, list[dict]] = field(default_factory=dict)
    failures: dict[str, list[tuple[int, dict, dict]]] = field(default_factory=dict)
    # file id -> {"filename", "length", "content" (bytes once posted), "channel" (once shared)}
    files: dict[str, dict] = field(default_factory=dict)
    url: str = ""
    team: str = TEAM  # the workspace the bot token belongs to
    enterprise: str | None = None  # its Enterprise Grid organisation, if it is in one
    # Methods that authenticate with the app's client id and secret (HTTP Basic) rather than
    # the bot token, as openid.connect.token does: name -> (authorization header, args) -> JSON.
    client_methods: dict[str, Callable[[str, dict], dict]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self._next_response = 0
        # trigger_id -> when the interaction that carried it was sent (time.monotonic()); a
        # trigger is good for one views.open within TRIGGER_SECONDS, as Slack documents.
        self.triggers: dict[str, float] = {}
        self._exchanged: set[str] = set()
        self.views: list[dict] = []  # every view opened, as Slack answered it
        self.homes: dict[str, list[dict]] = {}  # user id -> Home tabs published, in order
        self._hang_responses: list[float] = []
        self.abandoned: list[float] = []  # seconds a hung response_url post waited for us
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["GET", "POST"]),
                Route("/response/{rid}", self._response, methods=["POST"]),
                Route("/upload/{file_id}", self._upload, methods=["POST"]),
                Route("/download/{file_id}/{name}", self._download, methods=["GET"]),
            ]
        )

    # What the test controls -------------------------------------------------------------

    def add_user(self, user: dict) -> None:
        self.users[user["id"]] = user

    def add_channel(
        self,
        cid: str,
        *,
        name: str | None = None,
        private: bool = False,
        member: bool = True,
        archived: bool = False,
    ) -> None:
        self.channels[cid] = {
            "name": name or cid.lower(),
            "private": private,
            "member": member,
            "archived": archived,
        }

    def fail_next(
        self, method: str, status: int, body: dict | None = None, headers: dict | None = None
    ) -> None:
        self.failures.setdefault(method, []).append((status, body or {"ok": False}, headers or {}))

    def hang_posts(self, channel: str, seconds: float, times: int = 1) -> None:
        """The next `times` chat.postMessage calls to `channel` get no answer for `seconds`
        (then a 504), as a Slack that stalls on one channel; other channels answer at once."""
        self.failures.setdefault(f"chat.postMessage:{channel}", []).extend(
            [(0, {"ok": False, "seconds": seconds}, {})] * times
        )

    def hang_next_response(self, seconds: float) -> None:
        """The next post to a response_url gets no answer for `seconds`."""
        self._hang_responses.append(seconds)

    def wait_abandoned(self, timeout: float = 10) -> float:
        """How long a hung response_url post waited before the bot gave up on it."""
        with self._lock:
            if not self._lock.wait_for(lambda: self.abandoned, timeout):
                raise AssertionError(f"the bot did not give up on a reply within {timeout}s")
            return self.abandoned[0]

    def issue_trigger(self) -> str:
        """A trigger_id for an interaction about to be sent, in Slack's format."""
        with self._lock:
            trigger = f"{int(time.time())}.{len(self.triggers) + 1}.{secrets.token_hex(8)}"
            self.triggers[trigger] = time.monotonic()
        return trigger

    def new_response_url(self) -> str:
        with self._lock:
            self._next_response += 1
            rid = str(self._next_response)
            self.responses[rid] = []
        return f"{self.url}/response/{rid}"

    def wait_response(self, response_url: str, count: int = 1, timeout: float = 10) -> list[dict]:
        """The messages posted to one response_url, once `count` have arrived."""
        rid = response_url.rsplit("/", 1)[1]
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.responses[rid]) >= count, timeout):
                raise AssertionError(f"no reply on {response_url} within {timeout}s")
            return list(self.responses[rid])

    def calls_of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_call(self, method: str, count: int = 1, timeout: float = 10) -> list[Call]:
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.calls_of(method)) >= count, timeout):
                raise AssertionError(f"{method} was not called {count} time(s) in {timeout}s")
            return self.calls_of(method)

    # The fake Slack -----------------------------------------------------------------------

    async def _response(self, request: Request) -> Response:
        body = json.loads(await request.body())
        hang = self._hang_responses.pop(0) if self._hang_responses else 0
        started = time.monotonic()
        while time.monotonic() - started < hang:
            if await request.is_disconnected():
                with self._lock:
                    self.abandoned.append(time.monotonic() - started)
                    self._lock.notify_all()
                return Response("gone")
            await asyncio.sleep(0.05)
        with self._lock:
            self.responses[request.path_params["rid"]].append(body)
            self._lock.notify_all()
        return Response("ok")

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        raw = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            args = json.loads(raw or b"{}")
        else:
            args = dict(parse_qsl(raw.decode()))
        args |= dict(request.query_params)
        if method in self.client_methods:
            with self._lock:
                self.calls.append(Call(method, {"code": args.get("code")}, time.monotonic()))
            answer = self.client_methods[method](request.headers.get("authorization", ""), args)
            return JSONResponse(answer)
        if request.headers.get("authorization") != "Bearer xoxb-test-token":
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        with self._lock:
            for key in (f"{method}:{args.get('channel', '')}", method):
                failure = self.failures[key].pop(0) if self.failures.get(key) else None
                if failure:
                    break
            self.calls.append(Call(method, args, time.monotonic(), failed=failure is not None))
            self._lock.notify_all()
        if failure:
            status, body, headers = failure
            if status == 0:  # hang past the client's timeout, then answer as if nothing happened
                await asyncio.sleep(body["seconds"])
                return JSONResponse({"ok": False, "error": "timed out"}, status_code=504)
            return JSONResponse(body, status_code=status, headers=headers)
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return JSONResponse({"ok": False, "error": "unknown_method"})
        return JSONResponse(handler(args))

    def _auth_test(self, args: dict) -> dict:
        # As Slack documents it for a bot token; enterprise_id only within an Enterprise Grid.
        answer = {
            "ok": True,
            "url": "https://acme.slack.com/",
            "team": "Acme",
            "user": "enrolbot",
            "team_id": self.team,
            "user_id": BOT_USER,
            "bot_id": "B0BOT",
            "is_enterprise_install": False,
        }
        if self.enterprise:
            answer["enterprise_id"] = self.enterprise
        return answer

    def _users_info(self, args: dict) -> dict:
        user = self.users.get(args.get("user", ""))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _channel_problem(self, channel: str) -> str | None:
        info = self.channels.get(channel)
        if info is None:
            return "channel_not_found"
        if info["archived"]:
            return "is_archived"
        if not info["member"] and info["private"]:
            return "channel_not_found"
        return None

    def _chat_postMessage(self, args: dict) -> dict:
        channel = args.get("channel", "")
        if channel.startswith("U"):
            return {"ok": True, "channel": "D" + channel, "ts": "1.1"}
        problem = self._channel_problem(channel)
        if problem:
            return {"ok": False, "error": problem}
        return {"ok": True, "channel": channel, "ts": f"{time.time():.6f}"}

    def _conversations_info(self, args: dict) -> dict:
        cid = args.get("channel", "")
        info = self.channels.get(cid)
        if info is None or (info["private"] and not info["member"]):
            return {"ok": False, "error": "channel_not_found"}
        if cid.startswith("D"):
            # A direct message, as Slack's im object has it: no name, no is_member (the bot,
            # which can see it, is one of its two people).
            return {
                "ok": True,
                "channel": {"id": cid, "is_im": True, "user": "U0OTHER", "created": 1},
            }
        return {
            "ok": True,
            "channel": {
                "id": cid,
                "name": info["name"],
                "is_channel": True,
                "is_private": info["private"],
                "is_member": info["member"],
                "is_archived": info["archived"],
            },
        }

    def _chat_postEphemeral(self, args: dict) -> dict:
        problem = self._channel_problem(args.get("channel", ""))
        if problem or not self.channels[args["channel"]]["member"]:
            return {"ok": False, "error": problem or "not_in_channel"}
        return {"ok": True, "message_ts": "1.2"}

    def _views_open(self, args: dict) -> dict:
        """views.open as Slack documents it: a view (a JSON-encoded string, or JSON in a JSON
        body) opened by exchanging a trigger_id once, within 3 seconds of its interaction;
        the answer is the opened view with its id, hash and empty state."""
        view = args.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except ValueError:
                return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(view, dict) or view.get("type") != "modal":
            return {"ok": False, "error": "invalid_arguments"}
        trigger = args.get("trigger_id", "")
        with self._lock:
            issued = self.triggers.get(trigger)
            if issued is None:
                return {"ok": False, "error": "invalid_trigger_id"}
            if trigger in self._exchanged:
                return {"ok": False, "error": "exchanged_trigger_id"}
            if time.monotonic() - issued > TRIGGER_SECONDS:
                return {"ok": False, "error": "expired_trigger_id"}
            self._exchanged.add(trigger)
            view_id = f"V{len(self.views) + 1:08d}"
            opened = view | {
                "id": view_id,
                "team_id": self.team,
                "state": {"values": {}},
                "hash": f"{time.time():.6f}.abc",
                "root_view_id": view_id,
                "app_id": "A0ENROL",
                "bot_id": "B0BOT",
            }
            self.views.append(opened)
            self._lock.notify_all()
        return {"ok": True, "view": opened}

    def _views_publish(self, args: dict) -> dict:
        """views.publish as Slack documents it: a Home tab view (JSON-encoded, or JSON in a JSON
        body) for one user of the workspace, at most 100 blocks; kept per user, newest last."""
        view = args.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except ValueError:
                return {"ok": False, "error": "invalid_arguments"}
        user = args.get("user_id", "")
        if not isinstance(view, dict) or view.get("type") != "home" or not user:
            return {"ok": False, "error": "invalid_arguments"}
        if user not in self.users:
            return {"ok": False, "error": "not_found"}
        if len(view.get("blocks") or []) > 100:
            return {"ok": False, "error": "invalid_arguments"}
        with self._lock:
            self.homes.setdefault(user, []).append(view)
            self._lock.notify_all()
        return {"ok": True, "view": view | {"id": f"VH{user}", "team_id": self.team}}

    def wait_home(self, user: str, count: int = 1, timeout: float = 10) -> dict:
        """The `count`th Home tab published for `user`, once it is."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.homes.get(user, [])) >= count, timeout):
                raise AssertionError(f"no Home tab #{count} for {user} within {timeout}s")
            return self.homes[user][count - 1]

    def wait_view(self, count: int = 1, timeout: float = 10) -> dict:
        """The `count`th view opened, once it is."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.views) >= count, timeout):
                raise AssertionError(f"no view was opened within {timeout}s")
            return self.views[count - 1]

    def _conversations_open(self, args: dict) -> dict:
        # A direct message with one person: its id, as Slack answers with return_im unset.
        users = args.get("users", "")
        if not users or "," in users:
            return {"ok": False, "error": "user_not_found" if not users else "not_supported"}
        return {"ok": True, "channel": {"id": "D" + users}}
