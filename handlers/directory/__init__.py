"""Who belongs where: people's attributes, groups and memberships, from every source.

The way in for SCIM, Slack, Teams, files and chat commands (see the project's
docs/architecture.md, "Where a new directory source goes"):

- people: `upsert_people` (find by stable id, else email; make; set attributes), `deactivate`,
  `reactivate`, `apply_attributes` (by user id), `link_identities`, `users_by_subject`,
  `users_by_email`;
- groups: `source_group` (a source's group by stable id), `named_groups` (by kind and name),
  `find_group`, `listed`;
- members: `add_members`, `remove_members`, `replace_members`, `delete_group`;
- links: `unlink_group` (stop following a source, keeping the members), `link_group` (a link's
  group: the live one, the one once unlinked from the same source, or a new one);
- full sync: `Snapshot` of `PersonRecord`s and `GroupRecord`s, `apply_snapshot` (with the
  safety threshold), and the `DirectorySources` registry with its `SyncRun`.

Every function writes in the caller's transaction and logs what changed in `directory_change`
in that same transaction.
"""

from handlers.directory.attributes import FIELDS, apply_attributes
from handlers.directory.changes import Origin
from handlers.directory.groups import find_group, listed, named_groups, source_group, source_groups
from handlers.directory.links import Unlinked, link_group, unlink_group
from handlers.directory.members import (
    MemberChange,
    add_members,
    delete_group,
    remove_members,
    replace_members,
)
from handlers.directory.people import (
    Known,
    PeopleResult,
    PersonRecord,
    SourceKey,
    link_identities,
    upsert_people,
    users_by_email,
    users_by_subject,
)
from handlers.directory.sources import NO_SOURCES, DirectorySource, DirectorySources, SyncRun
from handlers.directory.status import deactivate, reactivate
from handlers.directory.sync import (
    DEFAULT_MAX_REMOVAL_PERCENT,
    GroupRecord,
    Outcome,
    Snapshot,
    SyncResult,
    apply_snapshot,
)
from handlers.directory.truth import OwnedElsewhere, check_changeable, where_kept

__all__ = [
    "DEFAULT_MAX_REMOVAL_PERCENT",
    "FIELDS",
    "NO_SOURCES",
    "DirectorySource",
    "DirectorySources",
    "GroupRecord",
    "Known",
    "MemberChange",
    "Origin",
    "Outcome",
    "OwnedElsewhere",
    "PeopleResult",
    "PersonRecord",
    "Snapshot",
    "SourceKey",
    "SyncResult",
    "SyncRun",
    "Unlinked",
    "add_members",
    "apply_attributes",
    "apply_snapshot",
    "check_changeable",
    "deactivate",
    "delete_group",
    "find_group",
    "link_group",
    "link_identities",
    "listed",
    "named_groups",
    "reactivate",
    "remove_members",
    "replace_members",
    "source_group",
    "source_groups",
    "unlink_group",
    "upsert_people",
    "users_by_email",
    "users_by_subject",
    "where_kept",
]
