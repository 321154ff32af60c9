"""The person a command's word names: an email, or an @mention (a Slack user id or an Entra
object id, as each platform sends a picked person), on both platforms alike."""

from __future__ import annotations

from dataclasses import dataclass, field

from handlers import directory
from handlers.commands.context import CommandContext, CommandError
from handlers.commands.parsing import MENTION
from handlers.identity import Account, Refusal, identify
from handlers.replies import echo
from handlers.users import find_by_email, normalise_email
from store.models import User

# A mention of someone the platform says is not a member here: never enrolled by hand.
OUTSIDERS = frozenset({Refusal.GUEST, Refusal.EXTERNAL, Refusal.BOT})


def names_a_person(word: str) -> bool:
    """Whether a word names a person (an @mention or an email) rather than an item's slug."""
    return bool(MENTION.match(word)) or "@" in word


@dataclass
class People:
    """The people several words name: their ids, and the words that named no one I may use."""

    user_ids: list[int] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)  # as typed, echoed
    outsiders: list[str] = field(default_factory=list)  # guests, other organisations, bots


async def people_named(ctx: CommandContext, words: list[str]) -> People:
    """Resolve emails (in one query) and @mentions (each as its platform names it)."""
    found = People()
    emails: dict[str, str] = {}
    for word in words:
        mention = MENTION.match(word)
        if mention is None:
            email = normalise_email(word)
            if email is None:
                found.not_found.append(echo(word))
            else:
                emails[email] = word
            continue
        subject = mention.group(1)
        account = Account(ctx.account.provider, ctx.account.tenant_key, subject)
        person = await identify(
            ctx.session,
            ctx.organisation,
            account,
            lambda subject=subject: ctx.lookup_profile(subject),
            bootstrap_admins=ctx.bootstrap_admins,
        )
        if person.user is not None:
            found.user_ids.append(person.user.id)
        elif person.refusal in OUTSIDERS:
            found.outsiders.append(echo(person.email or "someone from outside"))
        else:
            found.not_found.append(echo(person.email or "a mentioned person"))
    known = await directory.users_by_email(ctx.session, ctx.organisation.id, list(emails))
    for email in emails:
        if email in known:
            found.user_ids.append(known[email])
        else:
            found.not_found.append(echo(email, 100))
    return found


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
