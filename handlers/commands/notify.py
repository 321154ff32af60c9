"""notify: self-enrolment alerts for an item (or all), in a channel or by email."""

from __future__ import annotations

from handlers import catalog, subscriptions
from handlers.commands import registry
from handlers.commands.context import CommandContext, CommandError
from handlers.commands.parsing import CHANNEL
from handlers.commands.registry import Args, Option, Role, command
from handlers.replies import Notice, Tone, digest_text, echo, here_only, post_failed, sentence
from handlers.subscriptions import Where
from handlers.users import normalise_email
from store.models import DigestMode


@command(
    "notify",
    "ITEM|all",
    "alerts in {here} (or by email) when people enrol themselves; alone: what {here} gets",
    role=Role.ADMIN,
    doing="manage self-enrolment alerts",
    channel=True,
    options=(Option("off"), Option("digest", "hourly|daily"), Option("email", "EMAIL")),
    examples=(
        "notify safety-101",
        "notify all #ops --digest daily",
        "notify all --email hr@example.com",
        "notify safety-101 --off",
    ),
    most=2,
)
async def notify(ctx: CommandContext, args: Args) -> Notice:
    usage = ctx.usage(registry.named("notify").form(ctx.channels_by_name))
    if not args.words:
        if args.options:
            raise CommandError(f"Tell me which item, or all: {usage}.")
        return await _listed(ctx)
    target = args.words[0]
    item = (
        None
        if target.lower() == "all"
        else await catalog.get_item(ctx.session, ctx.organisation.id, target)
    )
    what = "every item" if item is None else item.title
    mode = _mode(args, usage)
    where, destination, channel_name = _destination(ctx, args, usage)
    item_id = item.id if item else None
    org = ctx.organisation.id
    lead = sentence(where) if where == ctx.here else where  # "This chat", "#ops", "hr@..."
    if args.flag("off"):
        if not await subscriptions.unsubscribe(ctx.session, org, item_id, destination):
            return Notice(f"{lead} gets no alerts for {what}; nothing changed.")
        await ctx.record("notify.off", item_id=item_id, destination=where)
        return Notice(f"{lead} no longer gets self-enrolment alerts for {what}.", Tone.SUCCESS)
    if destination.channel_id and ctx.check_channel is not None:
        problem = await ctx.check_channel(destination.channel_id)
        if problem is not None:
            raise CommandError(post_failed(problem, where).text + " Nothing was subscribed.")
    how = digest_text(mode)
    existing = await subscriptions.find(ctx.session, org, item_id, destination)
    if subscriptions.is_current(existing, mode):
        return Notice(f"{lead} already gets {how} for {what}; nothing changed.")
    assert ctx.caller.user is not None
    await subscriptions.subscribe(
        ctx.session,
        org,
        item_id,
        destination,
        mode=mode,
        channel_name=channel_name,
        created_by_user_id=ctx.caller.user.id,
        admin_destination=ctx.admin_destination,
    )
    await ctx.record("notify.on", item_id=item_id, destination=where, mode=mode.value)
    return Notice(f"{lead} now gets {how} when people enrol themselves in {what}.", Tone.SUCCESS)


def _mode(args: Args, usage: str) -> DigestMode:
    digest = args.value("digest")
    if digest is None:
        return DigestMode.INSTANT
    if args.flag("off"):
        raise CommandError("--off and --digest don't go together: --off stops the alerts.")
    try:
        return DigestMode(digest.lower())
    except ValueError:
        raise CommandError(f"--digest takes hourly or daily: {usage}.") from None


def _destination(ctx: CommandContext, args: Args, usage: str) -> tuple[str, Where, str | None]:
    """Where the alerts go: how a reply names it, the destination, and the channel's name."""
    email = args.value("email")
    if email is not None:
        if len(args.words) > 1:
            raise CommandError("Give either a channel or --email, not both.")
        address = normalise_email(email)
        if address is None:
            raise CommandError(f"`{echo(email)}` isn't an email address.")
        return echo(address, 320), Where(email=address), None
    channel_id, channel_name = ctx.channel_id, ctx.channel_name
    if len(args.words) == 2:
        if not ctx.channels_by_name:
            raise CommandError(here_only(ctx.prefix, "notify ITEM|all", "the alerts should arrive"))
        match = CHANNEL.match(args.words[1])
        if match is None or not match.group(1):
            raise CommandError(
                f"`{echo(args.words[1])}` isn't a channel I can find: pick it from the # "
                "suggestions as you type."
            )
        channel_id, channel_name = match.group(1), match.group(2) or match.group(1)
    if not channel_id:
        raise CommandError(f"Tell me which channel: {usage}.")
    where = f"#{channel_name}" if channel_name else ctx.here
    account = ctx.account
    return where, Where(account.provider, account.tenant_key, channel_id), channel_name


async def _listed(ctx: CommandContext) -> Notice:
    if not ctx.channel_id:
        raise CommandError("Tell me which item, or all.")
    account = ctx.account
    here = Where(account.provider, account.tenant_key, ctx.channel_id)
    lines = []
    for sub, item in await subscriptions.of_channel(ctx.session, ctx.organisation.id, here):
        what = item.title if item else "every item"
        where = f"to {sub.email}" if sub.email else "here"
        line = f"{what} · {digest_text(sub.mode)} {where}"
        if sub.disabled_at:
            line += f" · stopped: {sub.disabled_reason}"
        lines.append(line)
    if not lines:
        return Notice(
            f"{sentence(ctx.here)} gets no self-enrolment alerts. "
            f"{ctx.usage('notify ITEM|all')} subscribes it."
        )
    if ctx.organisation.primary_admin_email:
        lines.append(
            f"every item · instant alerts to {ctx.organisation.primary_admin_email} (primary admin)"
        )
    return Notice("Self-enrolment alerts:", lines=tuple(lines))
