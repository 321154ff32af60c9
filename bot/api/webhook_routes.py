"""The API's webhook endpoints (handlers/api/webhooks.py), declared on the one registry of
bot/api/routes.py; bot/api/app.py imports it beside that registry."""

from __future__ import annotations

from bot.api.endpoints import Answer, Call
from bot.api.routes import API
from bot.webhooks import address_rules
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
    "(webhook-id, webhook-timestamp, webhook-signature). A URL already added is refused (409); "
    "so is one that is not https or whose host is, or resolves to, an address inside a network "
    "(loopback, private, link-local...) unless ENROLBOT_WEBHOOK_ALLOW_PRIVATE is on (422).",
    scope="webhooks:write",
    body=hooks.WebhookIn,
    answers={201: hooks.WebhookCreated},
)
async def post_webhook(call: Call) -> Answer:
    assert call.settings is not None
    made = await webhooks.create_webhook(
        call.listing,
        call.body,
        call.actor,
        keys=call.settings.secret_keys,
        rules=address_rules(call.settings),
    )
    return Answer(201, made)


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
