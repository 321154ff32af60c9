"""What the API's webhook endpoints accept and answer (handlers/api/webhooks.py); kept apart
from handlers/api/schemas.py, which holds the rest of the API's models."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from handlers.api.schemas import Strict, WebUrl
from store.models import EndpointKind, EndpointState

EventType = Literal["enrolment.created", "enrolment.completed", "enrolment.withdrawn"]


class WebhookIn(Strict):
    url: WebUrl = Field(description="the receiver: it must answer 2xx to a verified delivery")
    events: list[EventType] = Field(min_length=1, max_length=10)


class Webhook(BaseModel):
    id: int
    kind: EndpointKind = Field(description="webhook, or xapi for the LRS of XAPI_ENDPOINT")
    url: str
    events: list[str]
    state: EndpointState = Field(description="paused after failing for too long")
    last_attempt_at: datetime | None
    last_status: int | None = Field(description="the receiver's HTTP status, last time")
    last_error: str | None
    created_at: datetime


class WebhookCreated(Webhook):
    secret: str = Field(description="whsec_...: the signing secret, shown only in this answer")


class WebhookList(BaseModel):
    data: list[Webhook]


class WebhookRemoved(BaseModel):
    id: int
    dropped: int = Field(description="undelivered events dropped with it")


class WebhookDelivery(BaseModel):
    event_id: str = Field(description="the webhook-id header, the same on every retry")
    type: str
    status: Literal["pending", "sent", "failed"]
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class WebhookDeliveryList(BaseModel):
    data: list[WebhookDelivery] = Field(description="the latest 50, newest first")
