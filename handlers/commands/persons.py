"""The person a command's word names: an email, or an @mention (a Slack user id or an Entra
object id, as each platform sends a picked person), on both platforms alike."""

from __future__ import annotations

from handlers.commands.context import CommandContext, CommandError
from handlers.commands.parsing import MENTION
from handlers.identity import Account, identify
from handlers.replies import echo
from handlers.users import find_by_email, normalise_email
from store.models import User


async def person_named(ctx: CommandContext, word: str, *, cannot: str) -> User:
    """The training account `word` names; `cannot` ends the refusal for a mention with no
    account ("can't be an admin")."""
    mention = MENTION.match(word)
    if mention:
        subject = mention.group(1)
        account = Account(ctx.account.provider, ctx.account.tenant_key, subject)
        person = await identify(
            ctx.session,
            ctx.organisation,
            account,
            lambda: ctx.lookup_profile(subject),
            bootstrap_admins=ctx.bootstrap_admins,
        )
        if person.user is None:
            raise CommandError(
                f"{echo(word)} {cannot}: they have no active training account I can match."
            )
        return person.user
    if word.startswith("@"):
        raise CommandError(
            f"I can't tell who {echo(word)} is: pick the person from the @ suggestions, or give "
            "their email."
        )
    email = normalise_email(word)
    if email is None:
        raise CommandError(f"`{echo(word)}` is neither an email address nor an @mention.")
    user = await find_by_email(ctx.session, ctx.organisation.id, email)
    if user is None:
        raise CommandError(
            f"There's no training account for {email}. Import it with `enrolbot users import` "
            "first."
        )
    return user
