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
from store.models import CatalogItem, DigestMode, ExternalEnrolmentEmail


@command(
    "notify",
    "ITEM|all",
    "alerts in {here} (or by email) when people enrol themselves; alone: what {here} gets",
    role=Role.ADMIN,
    doing="manage self-enrolment alerts",
    channel=True,
    options=(
        Option("off"),
        Option("digest", "hourly|daily"),
        Option("email", "EMAIL"),
        Option("external-email", "on|off"),
        Option("stakeholder", "EMAIL"),
    ),
    examples=(
        "notify safety-101",
        "notify all #ops --digest daily",
        "notify all --email hr@example.com",
        "notify safety-101 --off",
        "notify safety-101 --external-email on --stakeholder sales@example.com",
        "notify safety-101 --stakeholder sales@example.com --off",
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
    if args.value("external-email") is not None or args.value("stakeholder") is not None:
        return await _external(ctx, args, item, usage)
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


async def _external(
    ctx: CommandContext, args: Args, item: CatalogItem | None, usage: str
) -> Notice:
    """Seed 001's admin notification per external enrolment, an option per item: on or off,
    and the stakeholders who get it besides the primary admin."""
    if item is None:
        raise CommandError(
            "Emails about external enrolments are set per item, not for all: "
            f"{ctx.usage('notify ITEM --external-email on|off')}."
        )
    if len(args.words) > 1 or args.value("email") or args.value("digest"):
        raise CommandError(
            "--external-email and --stakeholder go with an item alone: "
            f"{ctx.usage('notify ITEM --external-email on|off [--stakeholder EMAIL]')}."
        )
    switch = args.value("external-email")
    on = None if switch is None else switch.lower()
    if on not in (None, "on", "off"):
        raise CommandError(f"--external-email takes on or off: {usage}.")
    if on is not None and args.flag("off"):
        raise CommandError(
            "Say --external-email off to stop the emails; --off goes with --stakeholder."
        )
    named = _addresses(args.value("stakeholder") or "")
    before = await subscriptions.external_email(ctx.session, item.id)
    was = (before.is_on, list(before.stakeholders)) if before else (False, [])
    assert ctx.caller.user is not None
    setting = await subscriptions.set_external_email(
        ctx.session,
        item,
        on=None if on is None else on == "on",
        add=[] if args.flag("off") else named,
        remove=named if args.flag("off") else [],
        by_user_id=ctx.caller.user.id,
    )
    now = (setting.is_on, list(setting.stakeholders))
    if now == was:
        return Notice(f"Nothing changed. {_external_state(ctx, item, setting)}")
    await ctx.record(
        "notify.external_email",
        item_id=item.id,
        on=setting.is_on,
        stakeholders=len(setting.stakeholders),
    )
    return Notice(_external_state(ctx, item, setting), Tone.SUCCESS)


def _addresses(text: str) -> list[str]:
    """Stakeholders' addresses, comma-separated, lower-cased; a sentence for one that isn't."""
    found = []
    for typed in filter(None, (t.strip() for t in text.split(","))):
        address = normalise_email(typed)
        if address is None:
            raise CommandError(f"`{echo(typed)}` isn't an email address.")
        found.append(address.lower())
    return found


def _external_state(ctx: CommandContext, item: CatalogItem, setting: ExternalEnrolmentEmail) -> str:
    """Where the item's external enrolment emails go now, in a sentence or two."""
    primary = ctx.organisation.primary_admin_email
    stakeholders = list(setting.stakeholders or [])
    if not setting.is_on:
        turn_on = ctx.usage(f"notify {item.slug} --external-email on")
        kept = f" Stakeholders kept for then: {', '.join(stakeholders)}." if stakeholders else ""
        return (
            f"External enrolments in {item.title} are not emailed to anyone (channels subscribed "
            f"with notify still hear of them); {turn_on} sends an email for each.{kept}"
        )
    who = subscriptions.external_recipients(setting, primary)
    if not who:
        return (
            f"Emails for external enrolments in {item.title} are on, but there's nobody to send "
            f"them to: add one with {ctx.usage(f'notify {item.slug} --stakeholder EMAIL')}, or "
            "set the primary admin's email (`enrolbot org set --primary-admin-email EMAIL`)."
        )
    named = [f"{a} (primary admin)" if a == (primary or "").lower() else a for a in who]
    return f"Each external enrolment in {item.title} is emailed to {', '.join(named)}."


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
    primary = ctx.organisation.primary_admin_email
    if primary:
        lines.append(f"every item · instant alerts to {primary} (primary admin)")
    for setting, item in await subscriptions.external_emails_on(ctx.session, ctx.organisation.id):
        who = ", ".join(subscriptions.external_recipients(setting, primary)) or "nobody yet"
        lines.append(f"{item.title} · an email for each external enrolment to {who}")
    return Notice("Self-enrolment alerts:", lines=tuple(lines))
