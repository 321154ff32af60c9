"""The SCIM resources as scim2-models builds and checks them, and their translation to and
from handlers.scim's plain values.

Two schemas are ours to declare: the enterprise extension again, because Entra ID sends a
manager as its id alone (RFC 7643 makes `$ref` required) or as a bare string in a PATCH; and
enrolbot's extension with `hireDate`, which Entra fills only through a custom attribute
mapping from employeeHireDate (docs/people-and-groups.md, "Connect Entra ID (or Okta)
provisioning")."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import Field, field_validator
from scim2_models import (
    ComplexAttribute,
    Email,
    Extension,
    Group,
    GroupMember,
    Meta,
    Mutability,
    Name,
    Reference,
    ScimPolicy,
    User,
)
from scim2_models.annotations import CaseExact
from scim2_models.urn import URN

from handlers.scim import InvalidValue, Person, hire_date
from handlers.scim.groups import GroupView

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ENROLBOT = "urn:ietf:params:scim:schemas:extension:enrolbot:2.0:User"

# What identity providers really send: Entra's PATCH removes members with a value, adds an
# entry a path filter names, and both send attributes we do not keep (dropped, not refused).
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


class Manager(ComplexAttribute):
    value: Annotated[str | None, CaseExact.true] = None
    """The id of the manager's SCIM user."""

    ref: Reference[User] | None = Field(  # type: ignore[type-arg]
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    display_name: Annotated[str | None, Mutability.read_only] = None


class EnterpriseUser(Extension):
    __schema__ = URN(ENTERPRISE)

    employee_number: str | None = None
    cost_center: str | None = None
    organization: str | None = None
    division: str | None = None
    department: str | None = None
    manager: Manager | None = None

    @field_validator("manager", mode="before")
    @classmethod
    def _bare_id(cls, value: Any) -> Any:
        # Entra ID: {"op": "Add", "path": "...:manager", "value": "<id>"}; "" clears it.
        if isinstance(value, str):
            return {"value": value} if value else None
        return value


class EnrolbotUser(Extension):
    """Attributes enrolbot keeps that no standard schema has."""

    __schema__ = URN(ENROLBOT)

    hire_date: str | None = None
    """The day the person was hired (2024-03-01, or a date-time such as Entra's
    employeeHireDate, 2024-03-01T00:00:00Z): rules enrol people hired after a date."""


ScimUser = User[EnterpriseUser | EnrolbotUser]


def person_from(user: Any) -> Person:
    """A SCIM user as handlers.scim takes it."""
    if not user.user_name:
        raise InvalidValue("A user needs a userName.")
    enterprise = user[EnterpriseUser] or EnterpriseUser()
    ours = user[EnrolbotUser] or EnrolbotUser()
    name = user.name or Name()
    manager = enterprise.manager.value if enterprise.manager else None
    if manager and not manager.isdecimal():
        raise InvalidValue(f"manager {manager!r} is not the id of a user here.")
    return Person(
        user_name=user.user_name.strip(),
        email=_email(user.emails or []),
        external_id=user.external_id or None,
        first_name=name.given_name or "",
        last_name=name.family_name or "",
        active=user.active is not False,
        attributes={
            "company": enterprise.organization,
            "department": enterprise.department,
            "function": user.title,
            "language": user.preferred_language,
            "employee_number": enterprise.employee_number,
            "hire_date": hire_date(ours.hire_date),
        },
        manager_id=int(manager) if manager else None,
    )


def _email(emails: list[Email]) -> str | None:
    """The primary address, else the work one, else the first."""
    for wanted in (lambda e: e.primary, lambda e: str(e.type or "") == "work", lambda e: True):
        for email in emails:
            if email.value and wanted(email):
                return email.value
    return None


def user_from(person: Person, base: str) -> Any:
    """A SCIM user to answer with; `base` is the service's /scim/v2 URL."""
    attrs = person.attributes
    hired: date | None = attrs.get("hire_date")
    user = ScimUser(
        id=str(person.id),
        external_id=person.external_id,
        user_name=person.user_name,
        name=Name(
            given_name=person.first_name or None,
            family_name=person.last_name or None,
            formatted=f"{person.first_name} {person.last_name}".strip() or None,
        ),
        display_name=f"{person.first_name} {person.last_name}".strip() or None,
        title=attrs.get("function"),
        preferred_language=attrs.get("language"),
        active=person.active,
        emails=[Email(value=person.email, type="work", primary=True)] if person.email else None,
        meta=Meta(
            resource_type="User",
            created=person.created,
            last_modified=person.modified or person.created,
            location=f"{base}/Users/{person.id}",
        ),
    )
    enterprise = EnterpriseUser(
        organization=attrs.get("company"),
        department=attrs.get("department"),
        employee_number=attrs.get("employee_number"),
        manager=Manager(value=str(person.manager_id), ref=f"{base}/Users/{person.manager_id}")
        if person.manager_id
        else None,
    )
    if enterprise.model_dump(exclude_none=True, exclude={"schemas"}):
        user[EnterpriseUser] = enterprise
    if hired:
        user[EnrolbotUser] = EnrolbotUser(hire_date=hired.isoformat())
    return user


def group_from(view: GroupView, base: str) -> Group:
    return Group(
        id=str(view.id),
        external_id=view.external_id,
        display_name=view.display_name,
        members=[
            GroupMember(value=str(u), display=name, type="User", ref=f"{base}/Users/{u}")
            for u, name in view.members
        ]
        if view.members is not None
        else None,
        meta=Meta(
            resource_type="Group",
            created=view.created,
            last_modified=view.created,
            location=f"{base}/Groups/{view.id}",
        ),
    )
