"""`enrolbot org show|set`: the organisation's name, primary admin email, SSO auto-provisioning,
rule messages to learners, the days learners are reminded before a due date and the time zone of
people whose own is unknown."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from handlers import users
from handlers.reminders.quiet_hours import is_known
from handlers.reminders.scan import BadDays, parse_days
from store.models import Organisation


@dataclass(frozen=True)
class OrgChange:
    name: str | None = None
    email: str | None = None
    provision: bool | None = None
    rule_messages: bool | None = None
    reminder_days: str | None = None
    time_zone: str | None = None


def _checked(change: OrgChange) -> None:
    if change == OrgChange():
        raise click.UsageError(
            "say what to change: --name, --primary-admin-email, --sso-auto-provision, "
            "--rule-messages, --reminder-days or --time-zone"
        )
    if change.name is not None and not change.name.strip():
        raise click.ClickException(
            "--name cannot be empty: give the organisation's name, such as --name 'Acme'."
        )
    if change.reminder_days is not None:
        try:
            parse_days(change.reminder_days)
        except BadDays as exc:
            raise click.BadParameter(str(exc), param_hint="--reminder-days") from None
    if change.time_zone is not None and not is_known(change.time_zone):
        raise click.BadParameter(
            f"{change.time_zone!r} is not an IANA time zone; use a name like Europe/London or UTC",
            param_hint="--time-zone",
        )


def group(
    settings: Callable[[], Settings],
    in_organisation: Callable[[Settings, Callable[..., Awaitable[Any]]], Any],
) -> click.Group:
    """The `org` command group, given how the CLI reads its settings and runs work in one
    transaction with the organisation (bot.cli)."""

    @click.group("org")
    def org_group() -> None:
        """The organisation's settings."""

    @org_group.command("show")
    def org_show() -> None:
        """Print the organisation's name, primary admin email, SSO auto-provisioning, whether
        learners are told what rules do, the reminder days before a due date, and the time zone
        of people whose own is unknown."""
        _org(settings, in_organisation, OrgChange())

    @org_group.command("set")
    @click.option("--name", help="The organisation's name.")
    @click.option(
        "--primary-admin-email", help="Gets every self-enrolment alert by email; '' clears."
    )
    @click.option(
        "--sso-auto-provision/--no-sso-auto-provision",
        default=None,
        help="Create a staff user for an unknown member of the workspace when they click Enrol.",
    )
    @click.option(
        "--rule-messages/--no-rule-messages",
        default=None,
        help="Tell learners in a direct message when a rule enrols or withdraws them "
        "(on by default).",
    )
    @click.option(
        "--reminder-days",
        help="Days before a due date that learners are reminded, e.g. 7,1,0 (0: the due day); "
        "'' turns reminders off.",
    )
    @click.option(
        "--time-zone",
        help="IANA time zone (e.g. Europe/London) for the quiet hours of people whose own is "
        "unknown (default UTC).",
    )
    def org_set(
        name: str | None,
        primary_admin_email: str | None,
        sso_auto_provision: bool | None,
        rule_messages: bool | None,
        reminder_days: str | None,
        time_zone: str | None,
    ) -> None:
        """Change the organisation's settings."""
        change = OrgChange(
            name, primary_admin_email, sso_auto_provision, rule_messages, reminder_days, time_zone
        )
        _checked(change)
        _org(settings, in_organisation, change)

    return org_group


def _org(
    settings: Callable[[], Settings],
    in_organisation: Callable[[Settings, Callable[..., Awaitable[Any]]], Any],
    change: OrgChange,
) -> None:
    """Make `change` to the organisation and print its settings as they then are."""
    current = settings()
    email = change.email
    if email:
        email = users.normalise_email(email)
        if email is None:
            raise click.ClickException("--primary-admin-email is not an email address.")

    async def run(session: AsyncSession, org: Organisation) -> list[str]:
        if change.name is not None:
            org.name = change.name.strip()
        if email is not None:
            org.primary_admin_email = email or None
        if change.provision is not None:
            org.sso_auto_provision = change.provision
        if change.rule_messages is not None:
            org.rule_messages = change.rule_messages
        if change.reminder_days is not None:
            org.reminder_days = ",".join(map(str, parse_days(change.reminder_days)))
        if change.time_zone is not None:
            org.time_zone = change.time_zone
        return [
            f"name: {org.name}",
            f"primary admin email: {org.primary_admin_email or '(none)'}",
            f"SSO auto-provisioning: {'on' if org.sso_auto_provision else 'off'}",
            f"rule messages to learners: {'on' if org.rule_messages else 'off'}",
            f"reminder days before due: {org.reminder_days or 'off'}",
            f"time zone (people without their own): {org.time_zone}",
        ]

    for line in in_organisation(current, run):
        click.echo(line)
