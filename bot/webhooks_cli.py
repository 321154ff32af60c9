"""`enrolbot webhook add|list|remove|test|log|resume`: the endpoints enrolment events are sent
to, signed as Standard Webhooks says (bot/webhooks.py, handlers/webhooks.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import click
import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from bot.webhooks import Answer, address_rules, send_test
from handlers import webhooks
from handlers.events import EVENT_TYPES
from handlers.webhooks import WebhookProblem
from store.models import EndpointKind, EndpointState, Organisation, WebhookEndpoint, utcnow

Work = Callable[[AsyncSession, Organisation], Awaitable[Any]]


@dataclass(frozen=True)
class Cli:
    """How the commands read the settings and run work in the organisation (bot.cli)."""

    settings: Callable[[], Settings]
    in_organisation: Callable[[Settings, Work], Any]

    def run(self, work: Work, settings: Settings | None = None) -> Any:
        try:
            return self.in_organisation(settings or self.settings(), work)
        except WebhookProblem as exc:
            raise click.ClickException(str(exc)) from None


def group(settings: Callable[[], Settings], in_organisation: Callable) -> click.Group:
    """The `webhook` command group (bot.cli adds it to `enrolbot`)."""
    cli = Cli(settings, in_organisation)
    webhook_group = click.Group(
        "webhook", help="Signed webhooks of enrolment events, and the xAPI LRS's deliveries."
    )
    for make in (_add, _list, _remove, _resume, _log, _test):
        webhook_group.add_command(make(cli))
    return webhook_group


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _add(cli: Cli) -> click.Command:
    @click.command("add")
    @click.argument("url")
    @click.option(
        "--events",
        "names",
        default=",".join(EVENT_TYPES),
        show_default=True,
        help="The events to send, separated by commas.",
    )
    def add(url: str, names: str) -> None:
        """Send enrolment events to URL (a public https:// address), signed with a new secret
        that is shown once."""

        current = cli.settings()

        async def work(session: AsyncSession, org: Organisation) -> tuple[int, str, list[str]]:
            wanted = webhooks.parse_events(names)
            endpoint, secret = await webhooks.add(
                session,
                org.id,
                url,
                wanted,
                "cli",
                keys=current.secret_keys,
                rules=address_rules(current),
            )
            return endpoint.id, secret, wanted

        endpoint_id, secret, wanted = cli.run(work, current)
        click.echo(f"Added webhook {endpoint_id}: {url.strip()} ({', '.join(wanted)}).")
        click.echo(f"Signing secret (shown only now; give it to the receiver): {secret}")

    return add


def _line(e: WebhookEndpoint) -> str:
    """One endpoint as `webhook list` shows it."""
    events = "xAPI statements" if e.kind is EndpointKind.XAPI else ",".join(e.events)
    last = "never tried"
    if e.last_attempt_at is not None:
        last = f"last {_when(e.last_attempt_at)} " + (
            f"HTTP {e.last_status}" if e.last_status else "no answer"
        )
        last += f" ({e.last_error})" if e.last_error else ""
    return f"{e.id}  {e.url}  {events}  {e.state.value}  {last}"


def _list(cli: Cli) -> click.Command:
    @click.command("list")
    def list_() -> None:
        """Every endpoint: its events, state and last delivery."""

        async def work(session: AsyncSession, org: Organisation) -> list[WebhookEndpoint]:
            return await webhooks.endpoints(session, org.id)

        found = cli.run(work)
        if not found:
            click.echo("No webhook endpoints yet: add one with `enrolbot webhook add URL`.")
        for endpoint in found:
            click.echo(_line(endpoint))

    return list_


def _remove(cli: Cli) -> click.Command:
    @click.command("remove")
    @click.argument("endpoint")
    def remove(endpoint: str) -> None:
        """Stop sending to ENDPOINT (its id or URL); what waited for it is dropped."""

        async def work(session: AsyncSession, org: Organisation) -> tuple[str, int]:
            found = await webhooks.find(session, org.id, endpoint)
            return found.url, await webhooks.remove(session, found)

        url, dropped = cli.run(work)
        click.echo(f"Removed webhook {url}; {dropped} undelivered events dropped.")

    return remove


def _resume(cli: Cli) -> click.Command:
    @click.command("resume")
    @click.argument("endpoint")
    def resume(endpoint: str) -> None:
        """Deliver again to a paused ENDPOINT (its id or URL), starting with what waited."""

        async def work(session: AsyncSession, org: Organisation) -> tuple[str, int | None]:
            found = await webhooks.find_any(session, org.id, endpoint)
            if found.state is not EndpointState.PAUSED:
                return found.url, None
            return found.url, await webhooks.resume(session, found, utcnow())

        url, waiting = cli.run(work)
        if waiting is None:
            click.echo(f"{url} is not paused: its events go out as they happen.")
        else:
            click.echo(f"Resumed {url}: {waiting} waiting events go out now, in order.")

    return resume


def _log(cli: Cli) -> click.Command:
    @click.command("log")
    @click.argument("endpoint")
    def log(endpoint: str) -> None:
        """ENDPOINT's latest deliveries: event, status, attempts, last error."""

        async def work(session: AsyncSession, org: Organisation) -> list[webhooks.Delivery]:
            found = await webhooks.find_any(session, org.id, endpoint)
            return await webhooks.deliveries(session, found)

        rows = cli.run(work)
        if not rows:
            click.echo("No deliveries yet.")
        for d in rows:
            click.echo(
                f"{_when(d.created_at)}  {d.event_type}  {d.message_id}  {d.status}  "
                f"attempts {d.attempts}"
                + (f"  sent {_when(d.sent_at)}" if d.sent_at else "")
                + (f"  last error: {d.last_error}" if d.last_error else "")
            )

    return log


def _test(cli: Cli) -> click.Command:
    @click.command("test")
    @click.argument("endpoint")
    def test(endpoint: str) -> None:
        """Send a signed webhook.test event to ENDPOINT now and show the receiver's answer."""
        current = cli.settings()

        async def work(session: AsyncSession, org: Organisation) -> WebhookEndpoint:
            found = await webhooks.find(session, org.id, endpoint)
            session.expunge(found)
            return found

        found = cli.run(work, current)
        answer = asyncio.run(_send_test(found, current))

        async def noted(session: AsyncSession, org: Organisation) -> None:
            # The test is the endpoint's latest attempt, as `webhook list` shows; it is not an
            # event, so `webhook log` and the pause after failures leave it out.
            tried = await webhooks.find(session, org.id, endpoint)
            tried.last_attempt_at, tried.last_status = utcnow(), answer.status
            tried.last_error = None if answer.ok else answer.reason()[:500]

        cli.run(noted, current)
        if answer.status is None:
            raise click.ClickException(f"{found.url} did not take the test event: {answer.error}.")
        click.echo(f"{found.url} answered HTTP {answer.status}")
        if answer.text:
            click.echo(answer.text)
        if not answer.ok:
            raise click.ClickException(
                "The receiver refused the test event: it must answer 2xx once it has verified "
                "the signature."
            )

    return test


async def _send_test(endpoint: WebhookEndpoint, settings: Settings) -> Answer:
    async with httpx.AsyncClient() as http:
        return await send_test(
            http,
            endpoint,
            settings.webhook_timeout_seconds,
            keys=settings.secret_keys,
            rules=address_rules(settings),
        )
