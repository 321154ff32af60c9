"""The tables. Rules that concurrent writers could break live here as database constraints.

One module per concern; every name is re-exported here, so `from store.models import X` is the
way in for the rest of the project, Alembic's environment and the migrations."""

from store.models.api import ApiKey, IdempotentRequest
from store.models.base import Base, UTCDateTime, utcnow
from store.models.catalog import (
    CatalogItem,
    DeletedLink,
    Enrolment,
    EnrolmentLink,
    EnrolmentSource,
    EnrolmentStatus,
    ItemKind,
    ItemSource,
)
from store.models.delivery import (
    DeliveryLane,
    DigestMode,
    ExternalEnrolmentEmail,
    NotificationSubscription,
    OutboxMessage,
    OutboxStatus,
)
from store.models.directory import (
    ATTRIBUTE_KINDS,
    EXTERNAL_SOURCES,
    ChangeKind,
    DirectoryChange,
    Group,
    GroupKind,
    GroupSource,
    Membership,
)
from store.models.imports import EnrolImport, EnrolImportRow, ImportStatus
from store.models.invitations import Invitation, InvitationStatus, InviteImport, JoinPage
from store.models.moodle import MoodleCheck, MoodleNotice, MoodleSite
from store.models.people import (
    AdminGrant,
    AdminRole,
    AuditEvent,
    HomeRefresh,
    Identity,
    Organisation,
    Standing,
    User,
    UserStatus,
    UserType,
)
from store.models.registration import DeletedRegistrationToken, RegistrationToken
from store.models.reminders import ReminderMute
from store.models.reminding import ManagerNudge, ManagerSummary, ReminderSent
from store.models.rules import (
    WHERE_FIELDS,
    Due,
    EnrolmentRule,
    Recur,
    RuleBaseline,
    RuleCondition,
    RuleGroup,
    StreamCursor,
)
from store.models.teams import TeamsCard, TeamsConversation
from store.models.webhooks import EndpointKind, EndpointState, WebhookEndpoint
from store.models.work import JobLease, PendingClick

__all__ = [
    "ATTRIBUTE_KINDS",
    "EXTERNAL_SOURCES",
    "WHERE_FIELDS",
    "AdminGrant",
    "AdminRole",
    "ApiKey",
    "AuditEvent",
    "Base",
    "CatalogItem",
    "ChangeKind",
    "DeletedLink",
    "DeletedRegistrationToken",
    "DeliveryLane",
    "DigestMode",
    "DirectoryChange",
    "Due",
    "EndpointKind",
    "EndpointState",
    "EnrolImport",
    "EnrolImportRow",
    "Enrolment",
    "EnrolmentLink",
    "EnrolmentRule",
    "EnrolmentSource",
    "EnrolmentStatus",
    "ExternalEnrolmentEmail",
    "Group",
    "GroupKind",
    "GroupSource",
    "HomeRefresh",
    "IdempotentRequest",
    "Identity",
    "ImportStatus",
    "Invitation",
    "InvitationStatus",
    "InviteImport",
    "ItemKind",
    "ItemSource",
    "JobLease",
    "JoinPage",
    "ManagerNudge",
    "ManagerSummary",
    "Membership",
    "MoodleCheck",
    "MoodleNotice",
    "MoodleSite",
    "NotificationSubscription",
    "Organisation",
    "OutboxMessage",
    "OutboxStatus",
    "PendingClick",
    "Recur",
    "RegistrationToken",
    "ReminderMute",
    "ReminderSent",
    "RuleBaseline",
    "RuleCondition",
    "RuleGroup",
    "Standing",
    "StreamCursor",
    "TeamsCard",
    "TeamsConversation",
    "UTCDateTime",
    "User",
    "UserStatus",
    "UserType",
    "WebhookEndpoint",
    "utcnow",
]
