"""`enrolbot org show|set`: the organisation's name, primary admin email, SSO auto-provisioning
and rule messages to learners."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from handlers import users
from store.models import Organisation


@dataclass(frozen=True)
class OrgChange:
    name: str | None = None
    email: str | None = None
    provision: bool | None = None
    rule_messages: bool | None = None


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
        """Print the organisation's name, primary admin email, SSO auto-provisioning and whether
        learners are told what rules do."""
        _org(OrgChange())

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
    def org_set(
        name: str | None,
        primary_admin_email: str | None,
        sso_auto_provision: bool | None,
        rule_messages: bool | None,
    ) -> None:
        """Change the organisation's settings."""
        change = OrgChange(name, primary_admin_email, sso_auto_provision, rule_messages)
        if change == OrgChange():
            raise click.UsageError(
                "say what to change: --name, --primary-admin-email, --sso-auto-provision or "
                "--rule-messages"
            )
        _org(change)

    def _org(change: OrgChange) -> None:
        current = settings()
        email = change.email
        if email:
            email = users.normalise_email(email)
            if email is None:
                raise click.ClickException("--primary-admin-email is not an email address.")

        async def run(session: AsyncSession, org: Organisation) -> list[str]:
            if change.name is not None:
                org.name = change.name
            if email is not None:
                org.primary_admin_email = email or None
            if change.provision is not None:
                org.sso_auto_provision = change.provision
            if change.rule_messages is not None:
                org.rule_messages = change.rule_messages
            return [
                f"name: {org.name}",
                f"primary admin email: {org.primary_admin_email or '(none)'}",
                f"SSO auto-provisioning: {'on' if org.sso_auto_provision else 'off'}",
                f"rule messages to learners: {'on' if org.rule_messages else 'off'}",
            ]

        for line in in_organisation(current, run):
            click.echo(line)

    return org_group
