"""Webhooks cannot be turned on the server's own network, and their signing secrets are not in a
database dump: a name that comes to resolve inside a network is not sent to, and says why in
the delivery log; secrets are sealed under ENROLBOT_SECRET_KEY, old plain ones at the next start,
and survive the key's rotation."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select, text

from bot.app import create_app
from bot.settings import Settings
from handlers import sealing, webhooks
from handlers.enrol import enrol
from handlers.webhook_address import AddressRules
from store.models import EndpointKind, EnrolmentSource, OutboxMessage, WebhookEndpoint
from tests.support import factories
from tests.support.servers import ServedApp
from tests.support.syncdb import SyncDB
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import KEYS, LOOPBACK, Receiver
from tests.test_webhooks import Clock, delivery_for, enrol_all, rounds, world

NEW_KEY = "webhook-newer-key-0123456789abcdef0123456789"


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
            keys=KEYS,
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


async def test_secrets_are_sealed_and_survive_the_keys_rotation(sessions, http):
    receiver = Receiver()
    with ServedApp(receiver.app()) as served:
        org, [item], users, endpoint_id, receiver.secret = await world(
            sessions, f"{served.url}/hook", people=3
        )
        stored = await _raw_secret(sessions, endpoint_id)
        assert stored.startswith("sealed:") and receiver.secret not in stored
        # The key is rotated: the new one first, the old one kept after it.
        rotated = (NEW_KEY, *KEYS)
        async with sessions() as s, s.begin():
            assert await webhooks.seal_secrets(s, rotated) == 1  # moved to the newest key
            assert await webhooks.seal_secrets(s, rotated) == 0
        moved = await _raw_secret(sessions, endpoint_id)
        assert moved != stored and sealing.unseal(moved, [NEW_KEY]) == receiver.secret
        clock = Clock()
        await enrol_all(sessions, org, [item], users[:1])
        assert await rounds(delivery_for(sessions, http, clock, keys=(NEW_KEY,)), clock, 2) == 1
        # Without the key it was sealed with, nothing is sent, and the log says what to do.
        await enrol_all(sessions, org, [item], users[1:2])
        assert await rounds(delivery_for(sessions, http, clock, keys=KEYS), clock, 2) == 0
    assert receiver.unverified == 0 and len(receiver.ids) == 1
    async with sessions() as s:
        endpoint = await s.get(WebhookEndpoint, endpoint_id)
    assert endpoint.last_error == (
        "not sent: the signing secret was sealed with a key no longer in ENROLBOT_SECRET_KEY: put "
        "that key back after the newest one, or remove the webhook and add it again."
    )


def test_a_secret_kept_in_plain_text_is_sealed_at_start_and_still_signs(db_url, tmp_path):
    """A row as an older enrolbot wrote it: `serve` seals its secret when it starts, and its
    deliveries are signed with the same secret the receiver was given then."""
    db, receiver, key = SyncDB(db_url), Receiver(), KEYS[0]
    receiver.secret = webhooks.new_secret()

    async def older(s):
        org = await factories.organisation(s)
        item = await factories.item(s, org, "course-0")
        ann = await factories.user(s, org, "ann@example.com")
        s.add(
            WebhookEndpoint(
                organisation_id=org.id,
                kind=EndpointKind.WEBHOOK,
                url=f"{served.url}/hook",
                events=["enrolment.created"],
                secret=receiver.secret,
            )
        )
        await s.flush()
        await enrol(s, organisation=org, user=ann, item=item, source=EnrolmentSource.API, by="t")

    with ServedApp(receiver.app()) as served:
        db.run(older)
        settings = Settings(
            _env_file=None,
            DATABASE_URL=db_url,
            ENROLBOT_SECRET_KEY=key,
            ENROLBOT_DELIVERY_SECONDS="0.1",
            **LOOPBACK,
        )
        with ServedApp(create_app(settings)):
            wait_until(lambda: bool(receiver.ids), "the webhook delivery", 20)
    assert receiver.unverified == 0 and len(receiver.ids) == 1
    stored = db.scalar(text("SELECT secret FROM webhook_endpoint"))
    assert stored.startswith("sealed:") and receiver.secret[len("whsec_") :] not in stored
    assert sealing.unseal(stored, [key]) == receiver.secret


def test_sealing_opens_plain_values_and_refuses_unknown_keys():
    sealed = sealing.seal("whsec_abc", KEYS)
    assert sealing.unseal(sealed, KEYS) == "whsec_abc" and sealed != sealing.seal("whsec_abc", KEYS)
    assert sealing.unseal("whsec_plain", KEYS) == "whsec_plain"
    assert sealing.reseal(sealed, KEYS) is None
    assert sealing.unseal(sealing.reseal("whsec_plain", KEYS), KEYS) == "whsec_plain"
    with pytest.raises(sealing.SealError, match="no longer in ENROLBOT_SECRET_KEY"):
        sealing.unseal(sealed, [NEW_KEY])
    # The sealing key is derived for its purpose: the same value sealed for another opens not.
    with pytest.raises(sealing.SealError):
        sealing.unseal(sealing.seal("x", KEYS, b"another purpose"), KEYS)
    with pytest.raises(sealing.SealError, match="ENROLBOT_SECRET_KEY is not set"):
        sealing.seal("x", [])


async def _raw_secret(sessions, endpoint_id: int) -> str:
    """The column as a database dump shows it."""
    async with sessions() as s:
        return (
            await s.execute(
                text("SELECT secret FROM webhook_endpoint WHERE id = :id"), {"id": endpoint_id}
            )
        ).scalar_one()
