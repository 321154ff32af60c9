"""`enrolbot moodle status`: whether the Moodle site of MOODLE_URL answers MOODLE_TOKEN (with
`core_webservice_get_site_info`, and which of the functions enrolbot uses its service lacks),
how many items are mapped to courses, and the pushes sent, waiting and failed, with why the
waiting ones wait."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import click
import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from bot.moodle.client import MoodleClient, MoodleError, MoodleUnreachable
from bot.settings import Settings
from handlers.moodle import checks
from handlers.moodle.problems import FUNCTIONS, Context, problem, unreachable
from store.models import Organisation

OFF = "Moodle is off: set MOODLE_URL and MOODLE_TOKEN to connect a site (see docs/moodle.md)."


async def connection(settings: Settings) -> tuple[bool, list[str]]:
    """Whether the site answers the token, and the lines that say how it went."""
    async with httpx.AsyncClient() as http:
        client = MoodleClient(
            http, settings.moodle_url, settings.moodle_token, settings.moodle_timeout_seconds
        )
        try:
            info = await client.site_info()
        except MoodleUnreachable as exc:
            return False, [f"Connection: failed. {unreachable(str(exc))}"]
        except MoodleError as exc:
            found = problem(exc.errorcode, exc.message, Context("core_webservice_get_site_info"))
            return False, [f"Connection: failed. {found.text}"]
    lines = [
        f"Connection: ok, to {info.get('sitename', '?')} as {info.get('username', '?')} "
        f"(Moodle {info.get('release', '?')})."
    ]
    enabled = {f.get("name") for f in info.get("functions") or [] if isinstance(f, dict)}
    missing = [f for f in FUNCTIONS if f not in enabled]
    if missing:
        lines.append(
            f"Missing functions: {', '.join(missing)}: add them to the token's external "
            "service (Site administration > Server > Web services > External services)."
        )
    return not missing, lines


def group(settings: Callable[[], Settings], in_organisation: Callable) -> click.Group:
    @click.group("moodle")
    def moodle_group() -> None:
        """The Moodle site of MOODLE_URL: enrolments and withdrawals pushed, completions read."""

    @moodle_group.command("status")
    def status() -> None:
        """Check the connection and show mapped courses and pushes."""
        current = settings()

        async def work(session: AsyncSession, org: Organisation) -> checks.Status:
            return await checks.status(session, org.id)

        figures = in_organisation(current, work)
        ok = True
        if current.moodle_enabled:
            click.echo(f"Moodle site: {current.moodle_url}")
            ok, lines = asyncio.run(connection(current))
            for line in lines:
                click.echo(line)
        else:
            click.echo(OFF)
        click.echo(
            f"Mapped: {figures.mapped_items} items to {figures.mapped_courses} Moodle courses."
        )
        click.echo(
            f"Pushed (enrolments and withdrawals): {figures.sent} sent, {figures.pending} waiting, "
            f"{figures.failed} failed."
        )
        if figures.problems:
            click.echo("Waiting or failed:")
            for email, course, error in figures.problems:
                click.echo(f"  {email}  course {course}  {error}")
        if not ok:
            raise SystemExit(1)

    return moodle_group
