"""The API's webhook endpoints (handlers/api/webhooks.py), declared on the one registry of
bot/api/routes.py; bot/api/app.py imports it beside that registry."""

from __future__ import annotations

from bot.api.endpoints import Answer, Call
from bot.api.routes import API
from handlers.api import webhook_schemas as hooks
from handlers.api import webhooks


@API.add(
    "GET",
    "/webhooks",
    operation_id="listWebhooks",
    summary="List webhook endpoints (and the xAPI LRS) with their last delivery",
    scope="webhooks:read",
    answers={200: hooks.WebhookList},
)
async def list_webhooks(call: Call) -> Answer:
    return Answer(200, await webhooks.list_webhooks(call.listing))


@API.add(
    "POST",
    "/webhooks",
    operation_id="createWebhook",
    summary="Add a webhook endpoint; its signing secret is in this answer only",
    description="Deliveries are signed as the Standard Webhooks specification says "
    "(webhook-id, webhook-timestamp, webhook-signature). A URL already added is refused (409).",
    scope="webhooks:write",
    body=hooks.WebhookIn,
    answers={201: hooks.WebhookCreated},
)
async def post_webhook(call: Call) -> Answer:
    return Answer(201, await webhooks.create_webhook(call.listing, call.body, call.actor))


@API.add(
    "DELETE",
    "/webhooks/{id}",
    operation_id="removeWebhook",
    summary="Remove a webhook endpoint; what still waited for it is dropped",
    scope="webhooks:write",
    params={"id": "int"},
    answers={200: hooks.WebhookRemoved},
)
async def delete_webhook(call: Call) -> Answer:
    return Answer(200, await webhooks.remove_webhook(call.listing, call.params["id"]))


@API.add(
    "GET",
    "/webhooks/{id}/deliveries",
    operation_id="listWebhookDeliveries",
    summary="An endpoint's latest deliveries: status, attempts, last error",
    scope="webhooks:read",
    params={"id": "int"},
    answers={200: hooks.WebhookDeliveryList},
)
async def list_deliveries(call: Call) -> Answer:
    return Answer(200, await webhooks.deliveries(call.listing, call.params["id"]))
