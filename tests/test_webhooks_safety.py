"""Webhooks cannot be turned on the server's own network: a name that comes to resolve inside a
network is not sent to, and says why in the delivery log."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from handlers import webhooks
from handlers.webhook_address import AddressRules
from store.models import OutboxMessage, WebhookEndpoint
from tests.support import factories
from tests.test_webhooks import Clock, delivery_for, enrol_all, rounds


@pytest.fixture
async def http():
    async with httpx.AsyncClient() as client:
        yield client


class Dns:
    """A stand-in for DNS whose answers a test changes, as a receiver's owner could."""

    def __init__(self, **answers: str) -> None:
        self.answers = answers

    async def __call__(self, host: str, port: int) -> list[str]:
        if host not in self.answers:
            raise OSError("Name or service not known")
        return [self.answers[host]]


async def test_a_name_that_comes_to_resolve_inside_a_network_is_not_sent_to(sessions, http):
    dns = Dns(**{"hooks.partner.test": "93.184.215.14"})
    rules = AddressRules(resolve=dns)
    async with sessions() as s, s.begin():
        org = await factories.organisation(s)
        item = await factories.item(s, org, "course-0")
        ann = await factories.user(s, org, "ann@example.com")
        endpoint, _ = await webhooks.add(
            s,
            org.id,
            "https://hooks.partner.test/in",
            ["enrolment.created"],
            "t",
            rules=rules,
        )
    await enrol_all(sessions, org, [item], [ann])
    dns.answers["hooks.partner.test"] = "169.254.169.254"  # the cloud's metadata service
    clock = Clock()
    assert await rounds(delivery_for(sessions, http, clock, rules=rules), clock, 2) == 0
    why = (
        "not sent: https://hooks.partner.test/in points at 169.254.169.254 (as "
        "hooks.partner.test resolves), a link-local address inside a network, which webhooks "
        "may not reach"
    )
    async with sessions() as s:
        row = (await s.execute(select(OutboxMessage))).scalar_one()
        kept = await s.get(WebhookEndpoint, endpoint.id)
        [log] = await webhooks.deliveries(s, kept)
    assert row.attempts == 2 and row.sent_at is None and row.last_error.startswith(why)
    assert (log.status, log.attempts) == ("pending", 2)  # kept, and tried again later
    assert kept.last_status is None and kept.last_error.startswith(why)
    assert kept.failing_since is not None
    with pytest.raises(webhooks.AddressProblem, match=r"169\.254\.169\.254"):
        await webhooks.check_address("https://hooks.partner.test/other", rules)
    dns.answers.clear()
    with pytest.raises(webhooks.AddressProblem, match="cannot be found"):
        await webhooks.check_address("https://hooks.partner.test/other", rules)
