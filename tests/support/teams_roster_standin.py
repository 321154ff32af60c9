"""The connector's team roster calls, as the Bot Framework documents them, for the stand-in
connector (tests/support/teams_standin.py mixes these into its Connector):

- GET /v3/conversations/{teamId}/pagedmembers?pageSize=&continuationToken=: a page size under
  50 counts as 50 and one over 500 as 500 (200 when not given); every page but the last carries
  an opaque continuationToken; members are TeamsChannelAccounts (aadObjectId, email,
  userPrincipalName, givenName, surname, tenantId, userRole);
- GET /v3/teams/{teamId}: TeamDetails.

A test may fail chosen pages (`fail_page`), once or always.
"""

from __future__ import annotations

import base64

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class RosterRoutes:
    """Expects `rosters`, `page_failures`, `page_requests`, `team_names` and `_authorised`
    from the Connector it is mixed into."""

    rosters: dict[str, list[dict]]
    page_failures: dict[int, list[int]]
    page_requests: list[dict]
    team_names: dict[str, str]

    def _authorised(self, request: Request) -> bool:
        raise NotImplementedError

    async def _team_details(self, request: Request) -> Response:
        """GET /v3/teams/{teamId}: TeamDetails (id, name, aadGroupId, counts)."""
        if not self._authorised(request):
            return JSONResponse({}, status_code=401)
        team = request.path_params["team"]
        if team not in self.rosters:
            return JSONResponse({"error": {"code": "BotNotInConversationRoster"}}, status_code=403)
        return JSONResponse(
            {
                "id": team,
                "name": self.team_names.get(team, "Team"),
                "aadGroupId": "b7a1c3d4-0000-4000-8000-0000000000aa",
                "memberCount": len(self.rosters[team]),
                "type": "standard",
            }
        )

    def fail_page(self, page: int, status: int = 500, times: int = -1) -> None:
        """Answer pagedmembers' page `page` (0 first) with `status`, `times` times (-1: always)."""
        self.page_failures[page] = [status, times]

    async def _paged_members(self, request: Request) -> Response:
        """GET /v3/conversations/{teamId}/pagedmembers?pageSize=&continuationToken=, as the
        Bot Framework documents it: pageSize at least 50 and at most 500 (200 if not given);
        an opaque continuationToken on every page but the last."""
        if not self._authorised(request):
            return JSONResponse({}, status_code=401)
        team = request.path_params["conversation"]
        query = dict(request.query_params)
        self.page_requests.append({"team": team, **query})
        if team not in self.rosters:
            return JSONResponse({"error": {"code": "BotNotInConversationRoster"}}, status_code=403)
        try:
            size = min(max(int(query.get("pageSize", 200)), 50), 500)
            offset = _offset(team, query.get("continuationToken"))
        except ValueError:
            return JSONResponse({"error": {"code": "BadArgument"}}, status_code=400)
        failure = self.page_failures.get(offset // size)
        if failure is not None and failure[1] != 0:
            failure[1] -= 1 if failure[1] > 0 else 0
            headers = {"Retry-After": "0"} if failure[0] == 429 else {}
            return JSONResponse(
                {"error": {"code": "ServiceError"}}, status_code=failure[0], headers=headers
            )
        roster = self.rosters[team]
        page = {"members": [_paged_member(m) for m in roster[offset : offset + size]]}
        if offset + size < len(roster):
            page["continuationToken"] = _token_of(team, offset + size)
        return JSONResponse(page)


def _paged_member(member: dict) -> dict:
    """A member as pagedmembers lists it (TeamsChannelAccount: aadObjectId, not objectId)."""
    listed = {k: v for k, v in member.items() if k != "objectId"}
    if member.get("objectId"):
        listed["aadObjectId"] = member["objectId"]
    return listed


def _token_of(team: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{team}|{offset}".encode()).decode()


def _offset(team: str, token: str | None) -> int:
    if not token:
        return 0
    try:
        named, offset = base64.urlsafe_b64decode(token.encode()).decode().rsplit("|", 1)
    except Exception as exc:
        raise ValueError("not a continuation token") from exc
    if named != team:
        raise ValueError("another conversation's token")
    return int(offset)
