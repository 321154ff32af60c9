"""invite EMAILS… --group GROUP | invite list|resend|cancel|import | join on|off|show: people
outside the portal invited into a group (seed 003), and the organisation's join page."""

from __future__ import annotations

from handlers import invitations, join, users
from handlers.commands.context import CommandContext, CommandError
from handlers.commands.groups import _kind, count_people, group_named
from handlers.commands.registry import Args, Option, Role, command, noun
from handlers.enrol_import_text import AskForImportFile, ImportKind
from handlers.invitations import Invited
from handlers.invite_import_text import NO_EMAIL, SEND_FILE_HERE
from handlers.replies import Notice, Tone, echo, plural
from store.models import Group, InvitationStatus, UserType

LISTED = 50


def _caller(ctx: CommandContext) -> tuple[str, int | None, str]:
    user = ctx.caller.user
    return str(ctx.account), user.id if user else None, user.full_name if user else ""


async def _group(ctx: CommandContext, args: Args) -> Group:
    name = args.value("group")
    if not name:
        raise CommandError(
            "A group is required to invite: add --group GROUP, the group whose training "
            "they'll take (`group list` shows them)."
        )
    group = await group_named(ctx, name, _kind(args.value("kind")))
    problem = invitations.group_problem(group)
    if problem:
        raise CommandError(problem)
    return group


def _type(word: str | None) -> UserType:
    if word is None:
        return UserType.STAFF
    try:
        kind = UserType(word.lower())
    except ValueError:
        kind = None
    if kind not in invitations.TYPES:
        raise CommandError(f"`{echo(word)}` is not a type to invite: use staff or client.")
    return kind


@command(
    "invite",
    "EMAILS…",
    f"invite up to {invitations.AT_ONCE} people by email into a group",
    role=Role.ADMIN,
    doing="invite people",
    options=(Option("group", "GROUP"), Option("type", "staff|client"), Option("kind", "KIND")),
    examples=("invite ann@example.org bob@example.org --group Sales",),
    least=1,
    needs="who to invite (their emails) and --group GROUP",
)
async def invite(ctx: CommandContext, args: Args) -> Notice:
    emails = []
    for word in args.words:
        email = users.normalise_email(word)
        if email is None:
            raise CommandError(f"`{echo(word)}` is not an email address; nobody was invited.")
        if email not in emails:
            emails.append(email)
    if len(emails) > invitations.AT_ONCE:
        raise CommandError(
            f"You can invite up to {invitations.AT_ONCE} people at a time, and you gave "
            f"{len(emails)}; for more, use a spreadsheet: {ctx.usage('invite import')}."
        )
    group, kind = await _group(ctx, args), _type(args.value("type"))
    if not ctx.can_email:
        raise CommandError(NO_EMAIL)
    by, by_id, by_name = _caller(ctx)
    done = await invitations.invite(
        ctx.session,
        ctx.organisation,
        [(e, group, kind) for e in emails],
        by=by,
        by_user_id=by_id,
        by_name=by_name,
    )
    return _summary(done, group)


def _summary(done: invitations.Invitations, group: Group) -> Notice:
    sent = done.of(Invited.INVITED)
    lines = []
    for outcome, words in (
        (Invited.ALREADY_MEMBER, f"already in {echo(group.name)}"),
        (Invited.ALREADY_INVITED, "already invited (`invite resend EMAIL` sends it again)"),
        (Invited.DEACTIVATED, "deactivated, so not invited"),
    ):
        for email in done.of(outcome):
            lines.append(f"{email}: {words}")
    if sent:
        text = (
            f"Invited {count_people(len(sent))} into {echo(group.name)}: {', '.join(sent)}. "
            "They join once they accept."
        )
        return Notice(text, Tone.SUCCESS, tuple(lines))
    return Notice("Nobody was invited.", Tone.INFO, tuple(lines))


@command(
    "invite list",
    "",
    "invitations and their status (pending, accepted, cancelled)",
    role=Role.ADMIN,
    doing="invite people",
    options=(Option("status", "pending|accepted|cancelled"),),
    most=0,
)
async def list_(ctx: CommandContext, args: Args) -> Notice:
    word = args.value("status")
    status = None
    if word is not None:
        try:
            status = InvitationStatus(word.lower())
        except ValueError:
            raise CommandError(
                f"`{echo(word)}` is not a status: use pending, accepted or cancelled."
            ) from None
    total, rows = await invitations.listed(ctx.session, ctx.organisation.id, status, LISTED)
    if not total:
        return Notice("There are no invitations" + (f" {status.value}." if status else "."))
    lines = []
    for inv, group, user in rows:
        # Seed 003: an invitee's name is shown only once they accept.
        who = f"{user.full_name} ({inv.email})" if user is not None else inv.email
        when = (inv.accepted_at or inv.cancelled_at or inv.sent_at).date().isoformat()
        lines.append(f"i{inv.id} · {who} · {echo(group)} · {inv.status.value} · {when}")
    if total > len(rows):
        lines.append(f"… and {total - len(rows)} older")
    return Notice(f"{plural(total, 'invitation')}:", lines=tuple(lines), heading="Invitations")


async def _one(ctx: CommandContext, word: str, verb: str) -> invitations.Invitation:
    found = await invitations.named(ctx.session, ctx.organisation.id, word)
    if not found:
        raise CommandError(
            f"There's no invitation {echo(word)}; `invite list` shows them (i12, or an email)."
        )
    if len(found) > 1:
        ids = ", ".join(f"i{i.id}" for i in found)
        raise CommandError(f"{echo(word)} has several pending invitations ({ids}): {verb} one.")
    invitation = found[0]
    if invitation.status is not InvitationStatus.PENDING:
        raise CommandError(
            f"Invitation i{invitation.id} for {invitation.email} is {invitation.status.value}, "
            "so there's nothing to do; invite them again if you need to."
        )
    return invitation


@command(
    "invite resend",
    "INVITE|EMAIL",
    "send a pending invitation again, with a new link (the old one stops working)",
    role=Role.ADMIN,
    doing="invite people",
    least=1,
    needs="which invitation (i12, or an email)",
    most=1,
)
async def resend(ctx: CommandContext, args: Args) -> Notice:
    invitation = await _one(ctx, args.words[0], "resend")
    if not ctx.can_email:
        raise CommandError(NO_EMAIL)
    by, by_id, by_name = _caller(ctx)
    await invitations.resend(
        ctx.session, ctx.organisation, invitation, by=by, by_user_id=by_id, by_name=by_name
    )
    return Notice(
        f"Sent invitation i{invitation.id} to {invitation.email} again; its earlier link no "
        "longer works.",
        Tone.SUCCESS,
    )


@command(
    "invite cancel",
    "INVITE|EMAIL",
    "cancel a pending invitation: its link stops working at once",
    role=Role.ADMIN,
    doing="invite people",
    least=1,
    needs="which invitation (i12, or an email)",
    most=1,
)
async def cancel(ctx: CommandContext, args: Args) -> Notice:
    invitation = await _one(ctx, args.words[0], "cancel")
    by, by_id, _ = _caller(ctx)
    await invitations.cancel(ctx.session, invitation, by=by, by_user_id=by_id)
    return Notice(
        f"Cancelled invitation i{invitation.id} to {invitation.email}: its link no longer works.",
        Tone.SUCCESS,
    )


@command(
    "invite import",
    "",
    f"invite up to {invitations.IMPORT_MAX} people from a spreadsheet (email, group[, type]): "
    "a preview first, then Send invitations",
    role=Role.ADMIN,
    doing="invite people",
    most=0,
)
async def import_(ctx: CommandContext, args: Args) -> AskForImportFile:
    if not ctx.can_email:
        raise CommandError(NO_EMAIL)
    return AskForImportFile(Notice(SEND_FILE_HERE), ImportKind.INVITE)


# The join page ------------------------------------------------------------------------------

noun(
    "join",
    aliases=(),
    missing="`join` needs {verbs}: {help} shows how.",
    unknown="I don't know `join {word}`; use {verbs}.",
)


def _address(ctx: CommandContext, path: str) -> str:
    return f"{ctx.public_url}/join/{path}"


@command(
    "join on",
    "",
    "switch the join page on (again: at a new address, the old one stops working)",
    role=Role.ADMIN,
    doing="manage the join page",
    options=(Option("group", "GROUP"), Option("allow-domain", "DOMAIN", many=True)),
    examples=("join on --group Newcomers --allow-domain example.org",),
    most=0,
)
async def join_on(ctx: CommandContext, args: Args) -> Notice:
    page = await join.page_of(ctx.session, ctx.organisation.id)
    name = args.value("group")
    if name is None and page is not None and page.group_id is not None:
        group = await ctx.session.get(Group, page.group_id)
    elif name is None:
        raise CommandError("Say which group people join: `join on --group GROUP`.")
    else:
        group = await group_named(ctx, name, None)
    if group is None or group.deleted_at is not None:
        raise CommandError("The join page's group is gone: `join on --group GROUP`.")
    problem = invitations.group_problem(group)
    if problem:
        raise CommandError(problem)
    domains = []
    for word in args.values("allow-domain"):
        domain = word.strip().lstrip("@").lower()
        if users.normalise_email(f"x@{domain}") is None:
            raise CommandError(f"`{echo(word)}` is not an email domain, like example.org.")
        domains.append(domain)
    page = await join.switch_on(ctx.session, ctx.organisation.id, group, domains)
    await ctx.record("join.on", group=group.name, domains=page.domains)
    return Notice(
        f"The join page is on: {_address(ctx, page.path)} (people who join become members of "
        f"{echo(group.name)}). `join on` again gives it a new address.",
        Tone.SUCCESS,
        lines=_domains(page.domains),
    )


def _domains(domains: list[str]) -> tuple[str, ...]:
    if not domains:
        return ("Anyone with the address can join.",)
    return (f"Only addresses at {', '.join('@' + d for d in domains)} can join.",)


@command(
    "join off",
    "",
    "switch the join page off",
    role=Role.ADMIN,
    doing="manage the join page",
    most=0,
)
async def join_off(ctx: CommandContext, args: Args) -> Notice:
    if not await join.switch_off(ctx.session, ctx.organisation.id):
        return Notice("The join page is off already.")
    await ctx.record("join.off")
    return Notice("The join page is off: its address now says so.", Tone.SUCCESS)


@command(
    "join show",
    "",
    "the join page: on or off, its address, group and domains",
    role=Role.ADMIN,
    doing="manage the join page",
    most=0,
)
async def join_show(ctx: CommandContext, args: Args) -> Notice:
    page = await join.page_of(ctx.session, ctx.organisation.id)
    if page is None or not page.enabled:
        return Notice("The join page is off: `join on --group GROUP` switches it on.")
    group = await ctx.session.get(Group, page.group_id) if page.group_id else None
    where = echo(group.name) if group else "(its group is gone)"
    return Notice(
        f"The join page is on: {_address(ctx, page.path)}, into {where}.",
        lines=_domains(page.domains),
    )
