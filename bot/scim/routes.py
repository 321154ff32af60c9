"""/scim/v2: Users, Groups and discovery for Entra ID and Okta provisioning (RFC 7644). Each
request is one transaction through handlers.scim; nothing here knows the tables."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from scim2_models import Context, Group, ResponseParameters
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from bot.runtime import Runtime
from bot.scim import discovery
from bot.scim.batch import Batcher
from bot.scim.http import answer, body, error, guarded
from bot.scim.models import POLICY, ScimUser, group_from, person_from, user_from
from bot.scim.patch import GroupPatch, patched_user
from handlers import directory, scim
from handlers.scim import InvalidValue, NotFound
from handlers.scim.people import ORIGIN
from store.statistics import Statistics

PREFIX = "/scim/v2"
T = TypeVar("T")


def scim_routes(runtime: Runtime, tokens: list[str]) -> list[Mount]:
    api = ScimApi(runtime)
    table = [
        ("/ServiceProviderConfig", api.service_provider_config, ["GET"]),
        ("/ResourceTypes", api.resource_types, ["GET"]),
        ("/Schemas", api.schemas, ["GET"]),
        ("/Users", api.users, ["GET", "POST"]),
        ("/Users/{id}", api.user, ["GET", "PUT", "PATCH", "DELETE"]),
        ("/Groups", api.groups, ["GET", "POST"]),
        ("/Groups/{id}", api.group, ["GET", "PUT", "PATCH", "DELETE"]),
    ]
    routes = [Route(path, guarded(tokens, run), methods=m) for path, run, m in table]
    return [Mount(PREFIX, routes=routes)]


def _id(request: Request) -> int:
    text = request.path_params["id"]
    if not text.isdecimal() or len(text) > 18:
        raise NotFound(f"Nothing has the id {text}.")
    return int(text)


def _page(request: Request) -> tuple[int, int]:
    """startIndex (1-based; below 1 is 1) and count (0 gives totalResults alone), RFC 7644
    §3.4.2.4."""
    try:
        start = int(request.query_params.get("startIndex", "1"))
        count = int(request.query_params.get("count", str(discovery.DEFAULT_COUNT)))
    except ValueError:
        raise InvalidValue("startIndex and count are whole numbers.") from None
    return max(start, 1), min(max(count, 0), discovery.MAX_RESULTS)


def _parameters(request: Request) -> ResponseParameters | None:
    attributes = request.query_params.get("attributes")
    excluded = request.query_params.get("excludedAttributes")
    if not attributes and not excluded:
        return None
    return ResponseParameters.model_validate(
        {"attributes": attributes, "excludedAttributes": excluded}
    )


def _with_members(request: Request) -> bool:
    """Whether the answer lists a group's members (Entra asks without them)."""
    wanted = [a.strip().lower() for a in request.query_params.get("attributes", "").split(",")]
    left_out = request.query_params.get("excludedAttributes", "").lower().split(",")
    if any(a.strip() in ("members", "members.value") for a in left_out):
        return False
    return not any(wanted) or any(a.startswith("members") for a in wanted)


class ScimApi:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.base = runtime.settings.public_url.rstrip("/") + PREFIX
        self.creations = Batcher(self._create_people, scim.BATCH)
        # A first provisioning fills these tables from empty (store.statistics).
        self.statistics = Statistics(runtime.engine, scim.TABLES_FILLED)

    async def _create_people(self, people: list[scim.Person]) -> list[scim.Person | Exception]:
        async def create(session: AsyncSession) -> list[scim.Person | scim.ScimError]:
            return await scim.create_people(session, await self._org(session), people)

        return list(await self._write(create))

    async def _write(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`work` in a transaction of its own, then the statistics kept up."""
        result = await self.runtime.transact(work)
        await self.statistics.after_write()
        return result

    async def _org(self, session: AsyncSession) -> int:
        return (await self.runtime.organisation(session)).id

    def _dump(self, resource: Any, request: Request, context: Context) -> dict[str, Any]:
        return resource.model_dump(scim_ctx=context, response_parameters=_parameters(request))

    # Discovery ---------------------------------------------------------------------------------

    async def service_provider_config(self, request: Request) -> Response:
        return answer(discovery.service_provider_config(self.base))

    async def resource_types(self, request: Request) -> Response:
        return answer(discovery.listed(discovery.resource_types(self.base)))

    async def schemas(self, request: Request) -> Response:
        return answer(discovery.listed(discovery.schemas(self.base)))

    # Users -------------------------------------------------------------------------------------

    async def users(self, request: Request) -> Response:
        if request.method == "POST":
            with POLICY:
                user = ScimUser.model_validate(
                    await body(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST
                )
            made = user_from(await self.creations.submit(person_from(user)), self.base)
            location = {"Location": made.meta.location}
            return answer(
                self._dump(made, request, Context.RESOURCE_CREATION_RESPONSE), 201, location
            )
        start, count = _page(request)
        text = request.query_params.get("filter")

        async def find(session: AsyncSession) -> tuple[int, list[scim.Person]]:
            return await scim.find_people(session, await self._org(session), text, start, count)

        total, people = await self.runtime.transact(find)
        found = [
            self._dump(user_from(p, self.base), request, Context.SEARCH_RESPONSE) for p in people
        ]
        return answer(discovery.listed(found, total, start))

    async def user(self, request: Request) -> Response:
        user_id = _id(request)
        if request.method == "DELETE":

            async def remove(session: AsyncSession) -> None:
                await scim.deprovision(session, await self._org(session), user_id)

            await self.runtime.transact(remove)
            return Response(status_code=204)
        data = await body(request) if request.method in ("PUT", "PATCH") else None

        async def work(session: AsyncSession) -> scim.Person:
            org = await self._org(session)
            if request.method == "GET":
                return await scim.get_person(session, org, user_id)
            if request.method == "PUT":
                with POLICY:
                    given = ScimUser.model_validate(
                        data, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST
                    )
            else:
                held = user_from(await scim.get_person(session, org, user_id), self.base)
                given = patched_user(held, data or {})
            return await scim.replace_person(session, org, user_id, person_from(given))

        person = await self.runtime.transact(work)
        context = Context.RESOURCE_QUERY_RESPONSE
        return answer(self._dump(user_from(person, self.base), request, context))

    # Groups ------------------------------------------------------------------------------------

    async def groups(self, request: Request) -> Response:
        if request.method == "POST":
            with POLICY:
                given = Group.model_validate(
                    await body(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST
                )
            members = _member_ids(given)

            async def create(session: AsyncSession) -> scim.GroupView:
                org = await self._org(session)
                name = given.display_name or ""
                return await scim.create_group(session, org, name, given.external_id, members)

            made = group_from(await self._write(create), self.base)
            location = {"Location": made.meta.location}
            return answer(
                self._dump(made, request, Context.RESOURCE_CREATION_RESPONSE), 201, location
            )
        start, count = _page(request)
        text = request.query_params.get("filter")
        members = _with_members(request)

        async def find(session: AsyncSession) -> tuple[int, list[scim.GroupView]]:
            org = await self._org(session)
            return await scim.find_groups(session, org, text, start, count, members)

        total, views = await self.runtime.transact(find)
        found = [
            self._dump(group_from(v, self.base), request, Context.SEARCH_RESPONSE) for v in views
        ]
        return answer(discovery.listed(found, total, start))

    async def group(self, request: Request) -> Response:
        group_id = _id(request)
        data = await body(request) if request.method in ("PUT", "PATCH") else None
        members = _with_members(request)
        if request.method == "PATCH":
            change = GroupPatch(data or {})
        elif request.method == "PUT":
            with POLICY:
                given = Group.model_validate(data, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)

        async def work(session: AsyncSession) -> scim.GroupView | None:
            group = await scim.scim_group(session, await self._org(session), group_id)
            if request.method == "DELETE":
                await directory.delete_group(session, group, ORIGIN)
                return None
            if request.method == "PATCH":
                await scim.rename(session, group, change.name, change.external_id)
                await scim.change_members(
                    session, group, add=change.add, remove=change.remove, replace=change.replace
                )
                if "attributes" not in request.query_params:
                    return None  # RFC 7644 §3.5.2: no body unless asked, so nothing to read
            elif request.method == "PUT":
                await scim.rename(session, group, given.display_name, given.external_id)
                await scim.change_members(session, group, replace=_member_ids(given))
            return (await scim.view(session, [group], members))[0]

        view = await self._write(work)
        if view is None:  # deleted, or patched with no body asked for
            return Response(status_code=204)
        return answer(
            self._dump(group_from(view, self.base), request, Context.RESOURCE_QUERY_RESPONSE)
        )


def _member_ids(group: Group) -> list[int]:
    ids = []
    for member in group.members or []:
        text = member.value or ""
        if not text.isdecimal() or len(text) > 18:
            raise InvalidValue(f"A member's value must be a user's id here, not {text!r}.")
        ids.append(int(text))
    return ids


__all__ = ["error", "scim_routes"]
