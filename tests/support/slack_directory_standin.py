"""Slack's directory methods for the stand-in (tests/support/slack_standin.py), as Slack's
documentation describes them:

- users.list, conversations.members: cursor pagination. `limit` (conversations.members: 1 to
  1,000, else `invalid_limit`) caps a page; `response_metadata.next_cursor` names the next page
  and is "" after the last; a cursor not issued is `invalid_cursor`. users.list lists deleted
  people too. conversations.members of a private channel the bot is not in:
  `channel_not_found`.
- usergroups.list (`include_disabled`, `include_users`: each group's users, cut at 500 as
  Slack's member lists are), usergroups.users.list (every member at once, `no_such_subteam`):
  on a free plan both answer `plan_upgrade_required`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

CUT = 500  # Slack cuts member lists in usergroups.list and subteam_updated at 500
MAX_LIMIT = 1000


def usergroup(sid: str, handle: str, name: str, members: list[str], **extra: object) -> dict:
    return {
        "id": sid,
        "team_id": "T0ACME",
        "is_usergroup": True,
        "is_subteam": True,
        "name": name,
        "description": "",
        "handle": handle,
        "is_external": False,
        "date_create": 1446598059,
        "date_update": 1446670362,
        "date_delete": 0,
        "auto_type": None,
        "created_by": "U0BOSS",
        "updated_by": "U0BOSS",
        "deleted_by": None,
        "prefs": {"channels": [], "groups": []},
        "users": list(members),
        "user_count": len(members),
        **extra,
    }


def _cursor(offset: int, kind: str) -> str:
    return base64.b64encode(f"{kind}:{offset}".encode()).decode()


@dataclass
class SlackDirectoryStandIn:
    # user group id -> the group as usergroup() makes it, its full member list in "users"
    usergroups: dict[str, dict] = field(default_factory=dict)
    members_of: dict[str, list[str]] = field(default_factory=dict)  # channel id -> user ids
    plan: str = "pro"  # "free": no user groups
    # method -> the offsets whose page fails (once each) with `error`, as a page can
    failing_pages: dict[str, dict[int, str]] = field(default_factory=dict)
    page_calls: dict[str, int] = field(default_factory=dict)

    def fail_page(self, method: str, offset: int, error: str = "internal_error") -> None:
        self.failing_pages.setdefault(method, {})[offset] = error

    def add_usergroup(self, group: dict) -> None:
        self.usergroups[group["id"]] = group

    def _page(self, method: str, kind: str, items: list, args: dict) -> dict:
        raw = args.get("limit")
        if raw in (None, ""):
            # conversations.members pages 100 by default; users.list tries to send everything.
            limit = 100 if method == "conversations.members" else max(len(items), 1)
        else:
            limit = int(raw)
        if limit < 1 or (method == "conversations.members" and limit > MAX_LIMIT):
            return {"ok": False, "error": "invalid_limit"}
        offset = 0
        if args.get("cursor"):
            try:
                named, at = base64.b64decode(args["cursor"]).decode().split(":")
                offset = int(at)
                assert named == kind and 0 < offset <= len(items)
            except (ValueError, AssertionError, UnicodeDecodeError):
                return {"ok": False, "error": "invalid_cursor"}
        with self._lock:  # type: ignore[attr-defined]  (the stand-in's)
            self.page_calls[method] = self.page_calls.get(method, 0) + 1
            error = self.failing_pages.get(method, {}).pop(offset, None)
        if error:
            return {"ok": False, "error": error}
        page = items[offset : offset + limit]
        end = offset + len(page)
        following = _cursor(end, kind) if end < len(items) else ""
        return {"ok": True, kind: page, "response_metadata": {"next_cursor": following}}

    def _users_list(self, args: dict) -> dict:
        users = [self.users[k] for k in sorted(self.users)]  # type: ignore[attr-defined]
        answer = self._page("users.list", "members", users, args)
        if answer["ok"]:
            answer["cache_ts"] = 1700000000
        return answer

    def _conversations_members(self, args: dict) -> dict:
        channel = args.get("channel", "")
        info = self.channels.get(channel)  # type: ignore[attr-defined]
        if info is None or (info["private"] and not info["member"]):
            return {"ok": False, "error": "channel_not_found"}
        return self._page(
            "conversations.members", "members", self.members_of.get(channel, []), args
        )

    def _usergroups_list(self, args: dict) -> dict:
        if self.plan == "free":
            return {"ok": False, "error": "plan_upgrade_required"}
        everyone = _true(args.get("include_disabled"))
        groups = []
        for group in self.usergroups.values():
            if group["date_delete"] and not everyone:
                continue
            shown = {k: v for k, v in group.items() if k != "users"}
            if _true(args.get("include_users")):
                shown["users"] = group["users"][:CUT]
            groups.append(shown)
        return {"ok": True, "usergroups": groups}

    def _usergroups_users_list(self, args: dict) -> dict:
        if self.plan == "free":
            return {"ok": False, "error": "plan_upgrade_required"}
        group = self.usergroups.get(args.get("usergroup", ""))
        if group is None or (group["date_delete"] and not _true(args.get("include_disabled"))):
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(group["users"])}


def _true(value: object) -> bool:
    return str(value).lower() in ("1", "true")
