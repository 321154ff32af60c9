"""SCIM 2.0 provisioning (RFC 7643/7644), platform-neutral: people and groups that an identity
provider keeps, written through handlers.directory. The HTTP shapes live in bot/scim/.

SCIM is push-only: it is not a `directory sync` source (the identity provider sends every
change as it happens, and there is nothing to fetch)."""

from handlers.scim.errors import (
    Conflict,
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    NotFound,
    ScimError,
)
from handlers.scim.groups import (
    GroupView,
    change_members,
    create_group,
    find_groups,
    rename,
    scim_group,
    view,
)
from handlers.scim.people import Person, find_people, get_person, hire_date, scim_users
from handlers.scim.writes import (
    BATCH,
    TABLES_FILLED,
    create_people,
    deprovision,
    replace_person,
)

__all__ = [
    "BATCH",
    "TABLES_FILLED",
    "Conflict",
    "GroupView",
    "InvalidFilter",
    "InvalidPath",
    "InvalidSyntax",
    "InvalidValue",
    "NotFound",
    "Person",
    "ScimError",
    "change_members",
    "create_group",
    "create_people",
    "deprovision",
    "find_groups",
    "find_people",
    "get_person",
    "hire_date",
    "rename",
    "replace_person",
    "scim_group",
    "scim_users",
    "view",
]
