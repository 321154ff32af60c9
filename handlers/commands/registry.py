"""Every command, declared once: its words, usage, summary, role, options, aliases and examples.

The dispatcher resolves what someone typed against these entries, help is generated from them,
and metrics count commands by their registered name. A new command is one `@command(...)` on
its function in the module of its noun (items, links, post, notify, admins, ...).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from handlers.commands.context import CommandContext


class Role(enum.IntEnum):
    """Who may run a command; each role may also run everything below it."""

    ANYONE = 0
    # Someone with direct reports in the directory (portal_user.manager_id): the command then
    # acts only on their own reports (handlers.commands.audience), an admin's on anyone.
    MANAGER = 1
    ADMIN = 2  # standard or super admin
    SUPER = 3


@dataclass(frozen=True)
class Option:
    name: str
    value: str | None = None  # the value's name in the usage ("TEXT"); None: a flag
    many: bool = False  # may be given more than once (--group A --group B)

    @property
    def usage(self) -> str:
        more = "…" if self.many else ""
        return f"[--{self.name} {self.value}]{more}" if self.value else f"[--{self.name}]"


@dataclass(frozen=True)
class Args:
    """A command's words after its name, split into positional words and options."""

    words: list[str]
    options: dict[str, str | bool | list[str]] = field(default_factory=dict)

    def flag(self, name: str) -> bool:
        return bool(self.options.get(name))

    def value(self, name: str) -> str | None:
        value = self.options.get(name)
        return value if isinstance(value, str) else None

    def values(self, name: str) -> list[str]:
        """Every value of an option that may be given more than once, in the order typed."""
        value = self.options.get(name)
        return list(value) if isinstance(value, list) else []


Handler = Callable[["CommandContext", Args], Awaitable[Any]]


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]  # ("link", "create")
    args: str  # what follows the words in the usage: "ITEM", "[QUERY]", ""
    summary: str  # one line for help; "{here}" becomes "this channel" or "this chat"
    role: Role
    doing: str  # for a refusal: "Only enrolment admins can {doing}"
    handler: Handler
    options: tuple[Option, ...] = ()
    aliases: tuple[str, ...] = ()  # other spellings of the last word: ("new",) for create
    examples: tuple[str, ...] = ()  # without the prefix; those naming a #channel are Slack's
    channel: bool = False  # takes an optional [#channel] after its arguments
    least: int = 0  # positional words it needs ...
    needs: str = ""  # ... and what to ask for when they are missing: "which item"
    most: int | None = None  # positional words it takes at most; None: any number
    # The one platform it works on, as accounts name it ("slack", "teams"); None: both. On the
    # other platform it is refused with `elsewhere`, the rest of "... is a Teams command: ".
    platform: str | None = None
    elsewhere: str = ""

    @property
    def name(self) -> str:
        return " ".join(self.words)

    def form(self, channels_by_name: bool) -> str:
        """The usage, e.g. `link create ITEM [--label TEXT] [--notes TEXT]`."""
        parts = [self.name, self.args]
        if self.channel and channels_by_name:
            parts.append("[#channel]")
        parts += [option.usage for option in self.options]
        return " ".join(part for part in parts if part)

    def examples_for(self, channels_by_name: bool) -> tuple[str, ...]:
        return tuple(e for e in self.examples if channels_by_name or "#" not in e)

    def works_on(self, provider: str) -> bool:
        """Whether it runs for an account of this platform ("slack", "teams")."""
        return self.platform is None or self.platform == provider

    def only_elsewhere(self) -> str:
        """The sentence for someone who typed it on the platform it does not work on."""
        where = PLATFORM_NAMES.get(self.platform or "", self.platform)
        return f"`{self.name}` is a {where} command: {self.elsewhere or 'use it there.'}"


@dataclass(frozen=True)
class Noun:
    """The first word of several commands (link, admin), and what to say when the second word is
    missing or unknown. {verbs} lists the commands' second words; {help} is the help command;
    {word} is the unknown word."""

    word: str
    aliases: tuple[str, ...]
    missing: str
    unknown: str


PLATFORM_NAMES = {"slack": "Slack", "teams": "Teams"}
COMMANDS: list[Command] = []
NOUNS: dict[str, Noun] = {}
_BY_WORDS: dict[tuple[str, ...], Command] = {}


def noun(word: str, *, aliases: tuple[str, ...] = (), missing: str, unknown: str) -> None:
    declared = Noun(word, aliases, missing, unknown)
    for spelling in (word, *aliases):
        NOUNS[spelling] = declared


def command(
    words: str, args: str, summary: str, *, role: Role, doing: str = "", **declared: Any
) -> Callable[[Handler], Handler]:
    """Declare the decorated function as the command `words` (see Command for the fields)."""

    def register(handler: Handler) -> Handler:
        entry = Command(tuple(words.split()), args, summary, role, doing, handler, **declared)
        COMMANDS.append(entry)
        first = NOUNS.get(entry.words[0])
        firsts = (first.word, *first.aliases) if first else entry.words[:1]
        for head in firsts:
            for last in (entry.words[-1], *entry.aliases):
                spelling = (head, *entry.words[1:-1], last) if len(entry.words) > 1 else (last,)
                _BY_WORDS[spelling] = entry
        return handler

    return register


def alias(spelling: str, name: str) -> None:
    """Another whole spelling of a registered command ("mine" for "my learning"); help shows
    it among the command's examples, not as a command of its own."""
    _BY_WORDS[tuple(spelling.lower().split())] = named(name)


def resolve(words: list[str]) -> tuple[Command, list[str]] | None:
    """The command whose words start what was typed, the longest that fits, and the rest."""
    lowered = [word.lower() for word in words]
    longest = max((len(key) for key in _BY_WORDS), default=0)
    for size in range(min(longest, len(words)), 0, -1):
        found = _BY_WORDS.get(tuple(lowered[:size]))
        if found is not None:
            return found, words[size:]
    return None


def named(name: str) -> Command:
    """The command registered under this name ("link create")."""
    return _BY_WORDS[tuple(name.split())]


def of_noun(word: str) -> list[Command]:
    """The commands that start with this noun (or one of its aliases), in declared order."""
    declared = NOUNS.get(word.lower())
    if declared is None:
        return []
    return [c for c in COMMANDS if c.words[0] == declared.word and len(c.words) > 1]
