"""Webhook endpoints over the API, as `enrolbot webhook` manages them (handlers/webhooks.py):
listed with how their deliveries go, added (the secret in that answer only), removed, and each
one's latest deliveries."""

from __future__ import annotations

from collections.abc import Sequence

from handlers import webhooks
from handlers.api import webhook_schemas as out
from handlers.api.paging import Listing
from handlers.api.problems import ApiProblem, not_found
from handlers.webhook_address import AddressRules
from handlers.webhooks import AddressProblem, WebhookProblem
from store.models import WebhookEndpoint


def webhook_out(endpoint: WebhookEndpoint) -> out.Webhook:
    return out.Webhook(
        id=endpoint.id,
        kind=endpoint.kind,
        url=endpoint.url,
        events=list(endpoint.events),
        state=endpoint.state,
        last_attempt_at=endpoint.last_attempt_at,
        last_status=endpoint.last_status,
        last_error=endpoint.last_error,
        created_at=endpoint.created_at,
    )


async def list_webhooks(listing: Listing) -> out.WebhookList:
    found = await webhooks.endpoints(listing.session, listing.organisation_id)
    return out.WebhookList(data=[webhook_out(e) for e in found])


async def create_webhook(
    listing: Listing,
    body: out.WebhookIn,
    actor: str,
    *,
    keys: Sequence[str],
    rules: AddressRules,
) -> out.WebhookCreated:
    try:
        endpoint, secret = await webhooks.add(
            listing.session,
            listing.organisation_id,
            body.url,
            list(dict.fromkeys(body.events)),
            actor,
            keys=keys,
            rules=rules,
        )
    except AddressProblem as exc:
        raise ApiProblem("invalid-body", str(exc)) from None
    except WebhookProblem as exc:
        raise ApiProblem("conflict", str(exc)) from None
    return out.WebhookCreated(**webhook_out(endpoint).model_dump(), secret=secret)


async def _find(listing: Listing, endpoint_id: int, *, any_kind: bool) -> WebhookEndpoint:
    find = webhooks.find_any if any_kind else webhooks.find
    try:
        return await find(listing.session, listing.organisation_id, str(endpoint_id))
    except WebhookProblem:
        raise not_found("webhook", endpoint_id) from None


async def remove_webhook(listing: Listing, endpoint_id: int) -> out.WebhookRemoved:
    endpoint = await _find(listing, endpoint_id, any_kind=False)
    return out.WebhookRemoved(
        id=endpoint_id, dropped=await webhooks.remove(listing.session, endpoint)
    )


async def deliveries(listing: Listing, endpoint_id: int) -> out.WebhookDeliveryList:
    endpoint = await _find(listing, endpoint_id, any_kind=True)
    rows = await webhooks.deliveries(listing.session, endpoint)
    return out.WebhookDeliveryList(
        data=[
            out.WebhookDelivery(
                event_id=d.message_id,
                type=d.event_type,
                status=d.status,
                attempts=d.attempts,
                last_error=d.last_error,
                created_at=d.created_at,
                sent_at=d.sent_at,
            )
            for d in rows
        ]
    )
