"""Where enrolment events go out: webhook endpoints an admin added, and the Learning Record Store
the settings name (XAPI_ENDPOINT), kept as a row of its own kind so both fan out the same way.
Each event is an outbox row per endpoint (handlers.events); this table holds only the endpoint
and how its deliveries are going."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, text_enum, utcnow


class EndpointKind(enum.StrEnum):
    WEBHOOK = "webhook"  # signed as Standard Webhooks says, to a URL an admin added
    XAPI = "xapi"  # statements to the LRS of XAPI_ENDPOINT, whose credentials stay in settings


class EndpointState(enum.StrEnum):
    ACTIVE = "active"
    # Failing for too long: its events are kept and wait; `webhook resume` sends them.
    PAUSED = "paused"


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoint"
    __table_args__ = (UniqueConstraint("organisation_id", "kind", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[EndpointKind] = mapped_column(text_enum(EndpointKind, "endpoint_kind"))
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The signing secret (whsec_...), shown once when added; it must be kept to sign with, so
    # it is kept sealed under ENROLBOT_SECRET_KEY (`sealed:...`, handlers/sealing.py). A plain
    # value from before sealing began is sealed at the next start.
    secret: Mapped[str | None] = mapped_column(String(400))
    state: Mapped[EndpointState] = mapped_column(
        text_enum(EndpointState, "endpoint_state"), default=EndpointState.ACTIVE
    )
    # When deliveries began failing without one success since; cleared by a success.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)  # the receiver's HTTP status
    last_error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
