"""What the API accepts and answers, as pydantic models: every body in and out is checked
against these, and the OpenAPI document's schemas are generated from them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from store.models import (
    EnrolmentSource,
    EnrolmentStatus,
    GroupKind,
    GroupSource,
    ItemKind,
    ItemSource,
    UserStatus,
    UserType,
)

Slug = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
Attribute = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$"),
]


def _web_url(value: str) -> str:
    if not value.lower().startswith(("https://", "http://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


WebUrl = Annotated[
    str, StringConstraints(max_length=2000, pattern=r"^\S+$"), AfterValidator(_web_url)
]
ExternalIdsIn = Annotated[
    dict[
        Annotated[str, StringConstraints(min_length=1, max_length=50)],
        Annotated[str, StringConstraints(min_length=1, max_length=200)] | None,
    ],
    Field(max_length=20),
]


class Strict(BaseModel):
    """A request body: unknown fields are refused, so a typo is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid")


class FieldError(BaseModel):
    field: str = Field(description="where in the request: body.title, query.limit, ...")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details (application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] | None = None
    scope: str | None = Field(None, description="the scope a 403 needs")


# Catalog -----------------------------------------------------------------------------------


_KEPT = ("title", "kind", "source", "external_ids")  # may be left out, never null


def _no_defaults(schema: dict[str, Any]) -> None:
    """A field left out has no default value: it keeps what the item has."""
    for field in schema["properties"].values():
        field.pop("default", None)


class CatalogItemIn(Strict):
    """A PUT of an item: a new one needs title and kind; on an existing one, a field left out
    keeps its value (what `catalog import` does with a missing column). None below means left
    out: an explicit null is refused, but for url, where it clears the URL."""

    model_config = ConfigDict(json_schema_extra=_no_defaults)

    title: Text = Field(None, description="required for a new item; left out: kept")
    kind: ItemKind = Field(
        None,
        description="required for a new item; it cannot change, so on an existing item leave "
        "it out or give the same (another kind: 409)",
    )
    source: ItemSource = Field(None, description="a new item without it is own; left out: kept")
    url: WebUrl | None = Field(
        None,
        description="where the item is on the learning platform; null clears it; left out: kept",
    )
    external_ids: ExternalIdsIn = Field(
        None,
        description='ids in other systems, e.g. {"moodle": "42"}: "moodle" maps the item to '
        "that Moodle course, where its enrolments are pushed and its completions read. Merged "
        "key by key into the ids the item has: a key left out is kept, a key set to null is "
        'removed ({"moodle": null} unmaps the item)',
    )

    @field_validator(*_KEPT, mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null: leave it out to keep what the item has")
        return value


class CatalogItem(BaseModel):
    id: int
    slug: str
    title: str
    kind: ItemKind
    source: ItemSource
    url: str | None
    external_ids: dict[str, str]
    created_at: datetime
    updated_at: datetime | None


class CatalogItemPage(BaseModel):
    data: list[CatalogItem]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null: done")


# People ------------------------------------------------------------------------------------


class PersonIn(Strict):
    email: Email
    first_name: Name = ""
    last_name: Name = ""
    type: UserType = UserType.STAFF
    company: Attribute | None = None
    department: Attribute | None = None
    team: Attribute | None = None
    function: Attribute | None = None
    language: Annotated[str, StringConstraints(max_length=35)] | None = None
    hire_date: date | None = None
    employee_number: Annotated[str, StringConstraints(max_length=64)] | None = None
    active: bool = True


class Person(BaseModel):
    id: int
    email: str
    first_name: str
    last_name: str
    type: UserType
    status: UserStatus
    company: str | None
    department: str | None
    team: str | None
    function: str | None
    language: str | None
    manager_id: int | None
    hire_date: date | None
    employee_number: str | None
    scim_managed: bool = Field(description="true: an identity provider keeps this person")


class PersonPage(BaseModel):
    data: list[Person]
    next_cursor: str | None


# Enrolments and completions -----------------------------------------------------------------


class PersonRef(Strict):
    """A person by id or by email: exactly one of the two."""

    person_id: int | None = Field(None, ge=1, le=2**62)
    email: Email | None = None

    @model_validator(mode="after")
    def _one_person(self) -> PersonRef:
        if (self.person_id is None) == (self.email is None):
            raise ValueError("give exactly one of person_id and email")
        return self


class EnrolmentIn(PersonRef):
    item: Slug


class WithdrawIn(Strict):
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class CompletionIn(PersonRef):
    item: Slug
    completed_at: AwareDatetime = Field(description="with its UTC offset, e.g. ...T10:00:00Z")
    score: float | None = Field(None, allow_inf_nan=False, ge=-1e9, le=1e9)


class Enrolment(BaseModel):
    id: int
    person_id: int
    email: str
    item: str = Field(description="the catalog item's slug")
    period: int = Field(
        description="0 unless a rule recurs; then the period's date as YYYYMMDD (20271001)"
    )
    status: EnrolmentStatus
    source: EnrolmentSource
    enrolled_at: datetime
    completed_at: datetime | None
    withdrawn_at: datetime | None
    score: float | None
    due_at: datetime | None
    visible_from: datetime | None = Field(
        description="made ahead by a rule and hidden from the learner until this time, when it "
        "changes to null (updated_at moves, enrolment.created is sent); null: shown"
    )
    required: bool | None = Field(description="set by a rule: required (true) or recommended")
    updated_at: datetime


class EnrolmentResult(BaseModel):
    outcome: Literal["enrolled", "already_enrolled", "already_completed"]
    enrolment: Enrolment


class WithdrawResult(BaseModel):
    outcome: Literal["withdrawn", "already_withdrawn"]
    enrolment: Enrolment


class CompletionResult(BaseModel):
    outcome: Literal["completed", "already_completed"]
    enrolment: Enrolment


class EnrolmentPage(BaseModel):
    data: list[Enrolment]
    next_cursor: str | None


# Groups ------------------------------------------------------------------------------------


class Group(BaseModel):
    id: int
    name: str
    kind: GroupKind
    source: GroupSource
    source_id: str | None
    members: int = Field(description="how many people belong now")


class GroupPage(BaseModel):
    data: list[Group]
    next_cursor: str | None


# Query strings -----------------------------------------------------------------------------

Limit = Annotated[int, Field(ge=1, le=200, description="page size, at most 200")]
Cursor = Annotated[str, StringConstraints(max_length=1000)]


class PageQuery(Strict):
    limit: Limit = 50
    cursor: Cursor | None = None


class EnrolmentQuery(PageQuery):
    item: Slug | None = None
    person_id: int | None = Field(None, ge=1, le=2**62)
    email: Email | None = None
    status: EnrolmentStatus | None = None
    source: EnrolmentSource | None = None
    changed_since: AwareDatetime | None = Field(
        None, description="only enrolments changed at or after this time"
    )


class PeopleQuery(PageQuery):
    email: Email | None = None
    status: UserStatus | None = None


class GroupQuery(PageQuery):
    kind: GroupKind | None = None
    source: GroupSource | None = None


# Completions in bulk ------------------------------------------------------------------------

BATCH_MAX = 1000


class CompletionBatchIn(Strict):
    completions: list[CompletionIn] = Field(min_length=1, max_length=BATCH_MAX)


class BatchOutcome(BaseModel):
    """One completion of a batch: its outcome and enrolment, or why it was refused."""

    index: int = Field(description="its position in the request, from 0")
    outcome: Literal["completed", "already_completed", "refused"]
    enrolment_id: int | None = None
    problem: str | None = Field(None, description="why it was refused (nothing was changed)")


class CompletionBatchResult(BaseModel):
    completed: int
    already_completed: int
    refused: int
    results: list[BatchOutcome]


# Rules (read only) ---------------------------------------------------------------------------


class Rule(BaseModel):
    """An automatic enrolment rule: who it enrols (audience) in which item, on which terms."""

    id: int
    item: str = Field(description="the catalog item's slug")
    paused: bool
    everyone: bool
    group_ids: list[int]
    where: dict[str, list[str]] = Field(description="attribute: any of these values")
    manager_id: int | None
    all_reports: bool
    hired_after: date | None
    added_after: date | None
    include_prospects: bool
    required: bool
    reason: str | None
    due: str
    due_days: int | None
    due_on: date | None
    due_month: int | None
    due_day: int | None
    recur: str
    recur_every: int | None
    enrol_days_before: int | None
    withdraw_on_leave: bool
    new_only: bool
    created_at: datetime


class RulePage(BaseModel):
    data: list[Rule]
    next_cursor: str | None
