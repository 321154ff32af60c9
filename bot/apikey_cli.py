"""`enrolbot apikey create NAME --scope SCOPE... | list | revoke NAME|ID`: the keys learning
platforms call /api/v1 with. A new key is printed once; only its hash is kept."""

from __future__ import annotations

from collections.abc import Callable

import click
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from handlers.api import keys
from store.models import Organisation

_SCOPE_HELP = "; ".join(f"{name}: {text}" for name, text in keys.SCOPES.items())
Run = Callable[[Callable], object]  # runs work(session, organisation) in one transaction


def group(settings: Callable[[], Settings], in_organisation: Callable) -> click.Group:
    """The `apikey` group, given how the CLI reads its settings and runs work (bot.cli)."""

    @click.group("apikey")
    @click.pass_context
    def apikey(ctx: click.Context) -> None:
        """API keys for /api/v1."""
        ctx.obj = lambda work: in_organisation(settings(), work)

    for command in (create, list_, revoke):
        apikey.add_command(command)
    return apikey


@click.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    help=f"what the key may do (repeat for several): {_SCOPE_HELP}",
)
@click.pass_obj
def create(run: Run, name: str, scopes: tuple[str, ...]) -> None:
    """Make a key NAME with the given scopes and print it, once."""
    if not name.strip() or len(name) > 100:
        raise click.BadParameter("give the key a name of 1 to 100 characters", param_hint="NAME")
    try:
        keys.check_scopes(list(scopes))
    except keys.UnknownScope as exc:
        raise click.ClickException(str(exc)) from None

    async def work(session: AsyncSession, org: Organisation) -> keys.NewKey | str:
        try:
            return await keys.create_key(session, org.id, name.strip(), list(scopes))
        except keys.KeyRefused as exc:
            return str(exc)

    made = run(work)
    if isinstance(made, str):
        raise click.ClickException(made)
    assert isinstance(made, keys.NewKey)
    click.echo(f"Made API key {made.row.id} '{made.row.name}' ({', '.join(made.row.scopes)}).")
    click.echo("Copy it now: it is shown this once and cannot be read back.")
    click.echo(made.key)


@click.command("list")
@click.pass_obj
def list_(run: Run) -> None:
    """List the keys: id, name, start of the key, scopes, made, revoked."""

    async def work(session: AsyncSession, org: Organisation) -> list[str]:
        return [
            f"{k.id}\t{k.name}\t{k.prefix}…\t{','.join(k.scopes)}\t"
            f"made {k.created_at:%Y-%m-%d}\t"
            + (f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "live")
            for k in await keys.list_keys(session, org.id)
        ]

    lines = run(work)
    assert isinstance(lines, list)
    click.echo("\n".join(lines) if lines else "No API keys yet: make one with apikey create.")


@click.command("revoke")
@click.argument("key")
@click.pass_obj
def revoke(run: Run, key: str) -> None:
    """Revoke the key with this id or name: it stops working at once. A name that several live
    keys share is refused, with their ids."""

    async def work(session: AsyncSession, org: Organisation) -> tuple[str, bool]:
        try:
            row = await keys.revoke_key(session, org.id, key)
        except keys.KeyRefused as exc:
            return str(exc), False
        if row is None:
            return (
                f"No live API key is named {key!r} or has that id: `enrolbot apikey list` "
                "shows them.",
                False,
            )
        return f"Revoked API key {row.id} '{row.name}'.", True

    said, done = run(work)
    if not done:
        raise click.ClickException(said)
    click.echo(said)
