"""How an API endpoint is declared: once, with its method, path, scope, models and summary.
The dispatcher (bot/api/app.py) and the OpenAPI document (bot/api/openapi.py) both read these
declarations, so the document cannot drift from the code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from bot.settings import Settings
from handlers.api.paging import Listing
from store.models import ApiKey, Organisation


@dataclass
class Call:
    """One authenticated request, parsed and checked, as an endpoint function receives it."""

    listing: Listing
    organisation: Organisation
    key: ApiKey
    params: dict[str, Any]
    query: Any = None
    body: Any = None
    # The service's settings, for the few endpoints that need one (webhooks: the keys that
    # seal secrets, where webhooks may go).
    settings: Settings | None = None

    @property
    def actor(self) -> str:
        """Who the audit names: the key, by its name and id."""
        return f"api:{self.key.name}#{self.key.id}"


@dataclass
class Answer:
    status: int
    model: BaseModel


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # below /api/v1, with {name} for path parameters
    operation_id: str
    summary: str
    scope: str
    run: Callable[[Call], Awaitable[Answer]]
    answers: dict[int, type[BaseModel]]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    # path parameter: "int" (an id) or "slug"
    params: dict[str, str] = field(default_factory=dict)
    description: str = ""

    @property
    def writes(self) -> bool:
        return self.method != "GET"


class Endpoints:
    """The API's endpoints, in the order they are declared."""

    def __init__(self) -> None:
        self.all: list[Endpoint] = []

    def add(self, method: str, path: str, **declared: Any) -> Callable:
        def register(run: Callable[[Call], Awaitable[Answer]]) -> Callable:
            self.all.append(Endpoint(method, path, run=run, **declared))
            return run

        return register

    def paths(self) -> dict[str, dict[str, Endpoint]]:
        by_path: dict[str, dict[str, Endpoint]] = {}
        for endpoint in self.all:
            by_path.setdefault(endpoint.path, {})[endpoint.method] = endpoint
        return by_path
