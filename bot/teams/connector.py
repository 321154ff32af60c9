"""Calling the Bot Framework connector ({serviceUrl}/v3/conversations/...) as the bot.

Tokens come from msal's ConfidentialClientApplication for our single-tenant app registration.
msal blocks, so it runs in a worker thread; it is made on first use (its constructor already
talks to Entra ID) and kept, so its token cache serves every later call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import msal
import requests
from starlette.concurrency import run_in_threadpool

from bot.settings import Settings

log = logging.getLogger(__name__)

SCOPE = "https://api.botframework.com/.default"
TIMEOUT_SECONDS = 10
# A read that a busy or throttled connector refused is tried again, this many times in all,
# waiting as Retry-After says (at most RETRY_WAIT_MAX seconds) or a little longer each time.
READ_ATTEMPTS = 3
RETRY_WAIT_MAX = 10.0
RETRY_STATUSES = frozenset({0, 408, 412, 429, 500, 502, 503, 504})
PAGE_SIZE_MAX = 500  # the most members Teams gives in one page


class ConnectorError(Exception):
    def __init__(self, status: int, detail: str, retry_after: float | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"connector answered {status}: {detail}")


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class BoundedSession(requests.Session):
    """requests waits for ever unless told otherwise, and msal passes no timeout of its own:
    every call to Entra ID from this session gives up after TIMEOUT_SECONDS, so a stalled
    token request cannot hold a worker thread, and the reply waiting on it, indefinitely."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = TIMEOUT_SECONDS
        return super().request(method, url, *args, **kwargs)


class Connector:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http
        self._msal: msal.ConfidentialClientApplication | None = None
        self._msal_lock = asyncio.Lock()

    def _make_msal(self) -> msal.ConfidentialClientApplication:
        s = self.settings
        http_client = BoundedSession()
        if s.microsoft_ca_bundle:
            # requests lets REQUESTS_CA_BUNDLE override a session's verify; this one trusts
            # exactly the bundle configured for Entra ID.
            http_client.trust_env = False
            http_client.verify = s.microsoft_ca_bundle
        return msal.ConfidentialClientApplication(
            s.microsoft_app_id,
            client_credential=s.microsoft_app_password,
            authority=f"{s.microsoft_authority_host.rstrip('/')}/{s.microsoft_app_tenant_id}",
            http_client=http_client,
            instance_discovery=False,  # the authority is configured; nothing to discover
        )

    async def token(self) -> str:
        try:
            async with self._msal_lock:
                if self._msal is None:
                    self._msal = await run_in_threadpool(self._make_msal)
            result = await run_in_threadpool(self._msal.acquire_token_for_client, scopes=[SCOPE])
        except requests.RequestException as exc:
            # Entra ID unreachable or too slow: as retryable as a connector that is.
            raise ConnectorError(0, f"Entra ID: {type(exc).__name__}") from None
        if "access_token" not in result:
            # msal reports failures in the result; the description names no secret.
            raise ConnectorError(401, f"no token from Entra ID: {result.get('error')}")
        return result["access_token"]

    async def call(
        self,
        method: str,
        service_url: str,
        path: str,
        body: Any = None,
        params: dict[str, str | int] | None = None,
    ) -> dict:
        url = f"{service_url.rstrip('/')}/v3/{path.lstrip('/')}"
        headers = {"Authorization": f"Bearer {await self.token()}"}
        try:
            response = await self.http.request(
                method, url, json=body, params=params, headers=headers, timeout=TIMEOUT_SECONDS
            )
        except httpx.HTTPError as exc:
            raise ConnectorError(0, type(exc).__name__) from None
        if response.status_code >= 400:
            raise ConnectorError(response.status_code, response.text[:200], retry_after(response))
        return response.json() if response.content else {}

    async def send(self, service_url: str, conversation_id: str, activity: dict) -> str:
        result = await self.call(
            "POST", service_url, f"conversations/{conversation_id}/activities", activity
        )
        return str(result.get("id", ""))

    async def reply(self, incoming: dict, activity: dict) -> str:
        conversation = incoming["conversation"]["id"]
        activity = {**activity, "replyToId": incoming.get("id")}
        result = await self.call(
            "POST",
            incoming["serviceUrl"],
            f"conversations/{conversation}/activities/{incoming.get('id')}",
            activity,
        )
        return str(result.get("id", ""))

    async def update(
        self, service_url: str, conversation_id: str, activity_id: str, activity: dict
    ) -> None:
        await self.call(
            "PUT",
            service_url,
            f"conversations/{conversation_id}/activities/{activity_id}",
            {**activity, "id": activity_id},
        )

    async def member(self, service_url: str, conversation_id: str, user_id: str) -> dict | None:
        try:
            return await self.call(
                "GET", service_url, f"conversations/{conversation_id}/members/{user_id}"
            )
        except ConnectorError as exc:
            if exc.status == 404:
                return None
            raise

    async def paged_members(
        self,
        service_url: str,
        conversation_id: str,
        continuation: str | None = None,
        page_size: int = PAGE_SIZE_MAX,
    ) -> dict:
        """One page of a team's (or channel's) members: {"members": [...], "continuationToken":
        ...}, the token absent on the last page. Retried as `READ_ATTEMPTS` says."""
        params: dict[str, str | int] = {"pageSize": min(page_size, PAGE_SIZE_MAX)}
        if continuation:
            params["continuationToken"] = continuation
        path = f"conversations/{conversation_id}/pagedmembers"
        for attempt in range(1, READ_ATTEMPTS + 1):
            try:
                return await self.call("GET", service_url, path, params=params)
            except ConnectorError as exc:
                if exc.status not in RETRY_STATUSES or attempt == READ_ATTEMPTS:
                    raise
                wait = exc.retry_after if exc.retry_after is not None else 0.5 * 2**attempt
                await asyncio.sleep(min(wait, RETRY_WAIT_MAX))
        raise AssertionError("unreachable")

    async def team_details(self, service_url: str, team_id: str) -> dict:
        """A team's id, name and Entra group id (GET /v3/teams/{teamId})."""
        return await self.call("GET", service_url, f"teams/{team_id}")

    async def personal_conversation(self, service_url: str, tenant_id: str, user_id: str) -> str:
        result = await self.call(
            "POST",
            service_url,
            "conversations",
            {
                "bot": {"id": f"28:{self.settings.microsoft_app_id}"},
                "isGroup": False,
                "members": [{"id": user_id}],
                "channelData": {"tenant": {"id": tenant_id}},
                "tenantId": tenant_id,
            },
        )
        return str(result["id"])
