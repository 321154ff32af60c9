"""`enrolbot teams package`: the Teams app package with MICROSOFT_APP_ID filled in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from bot.settings import Settings


def group(settings: Callable[[], Settings]) -> click.Group:
    """The `teams` command group, given how the CLI reads its settings (bot.cli)."""

    @click.group("teams")
    def teams_group() -> None:
        """Microsoft Teams."""

    @teams_group.command("package")
    @click.option(
        "--out",
        type=click.Path(dir_okay=False, path_type=Path),
        default=Path("enrolbot-teams.zip"),
        show_default=True,
        help="Where to write the zip: a new file ending in .zip.",
    )
    def teams_package(out: Path) -> None:
        """Write the Teams app package (manifest.json and icons) with MICROSOFT_APP_ID filled in,
        to upload in Teams (Apps, Manage your apps, Upload an app) or the Teams admin center.
        ENROLBOT_PUBLIC_URL must be the https address Teams reaches."""
        from bot import outfiles
        from bot.teams import package

        current = settings()
        if not current.microsoft_app_id:
            raise click.ClickException(
                "MICROSOFT_APP_ID is not set: the package names the bot by it."
            )
        if not current.public_url.startswith("https://"):
            # Teams refuses a package whose links and domains are not https.
            raise click.ClickException(
                f"ENROLBOT_PUBLIC_URL is {current.public_url}, and Teams accepts only https "
                "addresses: set it to the public https address Teams will reach, such as "
                "https://enrol.example.com."
            )
        outfiles.check(out, ".zip", "a zip")
        try:
            data = package.archive(
                current.microsoft_app_id,
                current.public_url,
                current.privacy_url,
                current.terms_url,
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        outfiles.write(out, data)
        click.echo(f"Wrote {out}: upload it in Teams (Apps → Manage your apps → Upload an app).")

    return teams_group
