"""What the bot answers, as plain data: each platform adapter renders it (Block Kit, Adaptive
Cards). Every sentence a user reads is written here, once."""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from handlers.enrol import EnrolResult, Outcome
from store.models import DigestMode

if TYPE_CHECKING:  # handlers.reports words its summary with this module's helpers
    from handlers.my_learning import MyLearning
    from handlers.reports import Report


class Tone(enum.StrEnum):
    INFO = "info"
    SUCCESS = "success"
    ERROR = "error"


@dataclass(frozen=True)
class Notice:
    """A message to the person who asked: a sentence or two, and perhaps a list."""

    text: str
    tone: Tone = Tone.INFO
    lines: tuple[str, ...] = ()
    heading: str | None = None


@dataclass(frozen=True)
class LinkCreated:
    link_id: int
    item_title: str
    label: str | None
    url: str
    post_hint: str


@dataclass(frozen=True)
class ConfirmLinkDelete:
    link_id: int
    question: str
    consequence: str


@dataclass(frozen=True)
class ConfirmTokenDelete:
    """Ask before destroying a registration token, with buttons (as for links)."""

    token_ref: str  # t12
    question: str
    consequence: str


@dataclass(frozen=True)
class AskLinkDetails:
    """Ask for a new link's label and notes in a form (a Slack modal, a Teams card)."""

    item_slug: str
    item_title: str
    notes: str | None = None


@dataclass(frozen=True)
class AskRuleDetails:
    """Ask for a new rule's audience and terms in a form (a Slack modal, a Teams card):
    `rule create ITEM` typed without options."""

    item_slug: str
    item_title: str


@dataclass(frozen=True)
class PostedBy:
    """Who asked for an Enrol button, kept so the post is audited once it has succeeded."""

    organisation_id: int
    item_id: int
    actor: str
    actor_user_id: int | None


@dataclass(frozen=True)
class EnrolButton:
    """A message with an Enrol button, to post in a channel."""

    channel: str | None  # the platform's channel id; None: where the command was typed
    channel_name: str | None
    link_id: int
    token: str
    title: str
    kind: str
    url: str | None = None
    label: str | None = None
    posted_by: PostedBy | None = None  # None: a button redrawn, not a new post
    # Posted with --token: a signed reference to a self-registration token (never its code),
    # so guests and people of other organisations can register instead of being refused.
    registration: str | None = None
    token_name: str | None = None  # t12 “Spring fair”, for the admin's answer

    @property
    def text(self) -> str:
        return f"{self.title} ({self.kind}): click Enrol to join."

    @property
    def outsiders_note(self) -> str | None:
        """A line under a registration button's title, for the guests it is also for."""
        if self.registration is None:
            return None
        return "Guests and people from other organisations can register with this button too."


@dataclass(frozen=True)
class ReportReady:
    """A report: its summary to show, and its CSV for the platform to deliver (a file, a
    download link)."""

    summary: Notice
    report: Report
    by_user_id: int  # the admin who asked: a download link is made for them alone


@dataclass(frozen=True)
class MyLearningReply:
    """A person's My learning (handlers.my_learning), for the adapter to render privately."""

    view: MyLearning


Reply = (
    Notice
    | MyLearningReply
    | LinkCreated
    | ConfirmLinkDelete
    | ConfirmTokenDelete
    | AskLinkDetails
    | AskRuleDetails
    | EnrolButton
    | ReportReady
)


# What a learner reads after a click. A refusal says what to do next.
_CLICK_TEXT = {
    Outcome.ENROLLED: "You're enrolled in {title}.",
    Outcome.ALREADY_ENROLLED: "You're already enrolled in {title}, so nothing changed.",
    Outcome.ALREADY_COMPLETED: (
        "You've already completed {title}. Your completion stands and nothing changed."
    ),
    Outcome.LINK_DISABLED: (
        "This link is currently disabled. Ask your training admin to reactivate it, "
        "or for another link."
    ),
    Outcome.LINK_DELETED: (
        "This link has been deleted and no longer works. Ask your training admin for a current one."
    ),
    Outcome.LINK_UNKNOWN: (
        "This enrolment link isn't valid. Ask your training admin for a current one."
    ),
    Outcome.LINK_TAMPERED: (
        "This enrolment link isn't valid: it may have been changed or cut short. "
        "Ask your training admin for a current one."
    ),
    Outcome.LINK_EXPIRED: (
        "This enrolment link has expired. Ask your training admin for a current one."
    ),
    Outcome.WRONG_ORGANISATION: (
        "This enrolment link belongs to another organisation, so it can't enrol you here. "
        "Ask your own training admin for a link."
    ),
    Outcome.GUEST: (
        "Guest accounts can't use internal enrolment links. If you need this training, ask "
        "your training admin."
    ),
    Outcome.EXTERNAL: (
        "This button is for members of the organisation that posted it. If you'd like this "
        "training, ask your own organisation's training admin."
    ),
    Outcome.BOT: "Bot accounts can't enrol in training.",
    Outcome.ACCOUNT_DEACTIVATED: (
        "Your account is deactivated, so it can't enrol. Contact your workspace admin."
    ),
    Outcome.NO_EMAIL: (
        "I can't see the email address on your account, so I can't match you to your training "
        "account. Ask your workspace admin to let enrolbot read members' email addresses, then "
        "click again."
    ),
    Outcome.NO_USER: (
        "There's no training account for {email}. Ask your training admin to add you, then "
        "click again."
    ),
    Outcome.USER_DEACTIVATED: (
        "Your training account ({email}) is deactivated. Ask your training admin to reactivate "
        "it, then click again."
    ),
    Outcome.PROSPECT: (
        "This link is for the organisation's staff and clients. You registered as an outside "
        "learner ({email}): to enrol in more training, use the registration page with the "
        "token your contact there gave you, or ask them for one."
    ),
}

_CLICK_TONE = {
    Outcome.ENROLLED: Tone.SUCCESS,
    Outcome.ALREADY_ENROLLED: Tone.INFO,
    Outcome.ALREADY_COMPLETED: Tone.INFO,
}


def click_reply(result: EnrolResult) -> Notice:
    title = result.item.title if result.item else "this training"
    text = _CLICK_TEXT[result.outcome].format(title=title, email=result.email or "your email")
    lines: tuple[str, ...] = ()
    if (
        result.outcome in (Outcome.ENROLLED, Outcome.ALREADY_ENROLLED)
        and result.item
        and result.item.url
    ):
        lines = (f"Open it: {result.item.url}",)
    return Notice(text, _CLICK_TONE.get(result.outcome, Tone.ERROR), lines)


SOMETHING_WENT_WRONG = Notice(
    "Sorry, something went wrong on our side and nothing was changed. Please try again in a "
    "moment; if it keeps happening, tell your training admin.",
    Tone.ERROR,
)


class PostProblem(enum.StrEnum):
    NOT_IN_CHANNEL = "not_in_channel"
    ARCHIVED = "archived"


def posted(button: EnrolButton, where: str) -> Notice:
    label = f" ({button.label})" if button.label else ""
    token = (
        f" Guests and people from other organisations who click it can register with token "
        f"{button.token_name}."
        if button.token_name
        else ""
    )
    return Notice(
        f"Posted the Enrol button for {button.title}{label} in {where}, using link "
        f"{button.link_id}.{token}",
        Tone.SUCCESS,
    )


def post_failed(problem: PostProblem, where: str, bot_name: str = "enrolbot") -> Notice:
    if problem is PostProblem.ARCHIVED:
        return Notice(
            f"{where} is archived, so I can't post there; pick another channel.", Tone.ERROR
        )
    return Notice(
        f"I can't post in {where}: invite me there first (`/invite @{bot_name}`), then try again.",
        Tone.ERROR,
    )


def label_problem(label: str, taken_by: int | None, limit: int) -> str | None:
    """Why a label typed in the new-link form can't be used, or None if it can."""
    if not label.strip():
        return "Give the link a label, so you can tell it apart from the item's other links."
    if len(label.strip()) > limit:
        return f"Keep the label to {limit} characters."
    if taken_by is not None:
        return f"Link {taken_by} already has this label; choose another."
    return None


ANONYMOUS = Notice(
    "Anonymous participants can't enrol. Join with your organisation's account, then click again.",
    Tone.ERROR,
)
NOT_OUR_ORGANISATION = Notice(
    "I only serve the organisation that installed me; ask your own training admin for training.",
    Tone.ERROR,
)


def here_only(prefix: str, form: str, what: str) -> str:
    """Teams gives a bot no way to name another channel: the command goes where it acts."""
    return f"In Teams, send `{prefix} {form}` in the channel or chat where {what}."


POST_HERE_ONLY = Notice(here_only("enrol", "post ITEM", "the card should appear"), Tone.ERROR)


def kept_link(link_id: str) -> Notice:
    return Notice(f"Kept link {link_id}; nothing changed.")


def kept_token(token_ref: str) -> Notice:
    return Notice(f"Kept token {echo(token_ref, 20)}; nothing changed.")


# Words people typed are quoted back only through echo(): the renderers escape for their
# surface, but an echoed word must not be able to leave its code span, draw a link or run on.
ECHO_MAX = 40
_MARKUP = str.maketrans("", "", "`*~[]\\")


def echo(word: str, limit: int = ECHO_MAX) -> str:
    """A typed word, safe to quote back: no backticks (which would close its code span), no
    brackets, asterisks, tildes or backslashes (links and emphasis in Markdown and mrkdwn), no
    line breaks or other control characters, and at most `limit` characters."""
    kept = "".join(
        " " if unicodedata.category(c).startswith("C") else c for c in word.translate(_MARKUP)
    ).strip()
    return kept if len(kept) <= limit else kept[: limit - 1] + "…"


def no_item(slug: str, suggestion: str | None) -> str:
    hint = f" Did you mean `{suggestion}`?" if suggestion else " `items` lists them."
    return f"There is no item `{echo(slug, 100)}`.{hint}"


def sentence(text: str) -> str:
    """Text that starts a sentence, with its first letter capitalised ("this chat" -> "This")."""
    return text[:1].upper() + text[1:]


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def digest_text(mode: DigestMode) -> str:
    """How often a subscription's alerts come, as a reply says it."""
    return {
        DigestMode.INSTANT: "instant alerts",
        DigestMode.HOURLY: "an hourly digest",
        DigestMode.DAILY: "a daily digest",
    }[mode]
