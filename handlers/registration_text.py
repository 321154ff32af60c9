"""Every sentence the registration page, its confirmation page and the invitation email say,
written once (handlers.registration decides; the web page and the email render)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from handlers.enrol import Outcome
from handlers.registration import CONFIRM_DAYS, Confirmation, Confirmed, Registered, Registration

FORM_HEADING = "Register for training"
FORM_INTRO = (
    "Enter your name, your email address and the token you were given, to register for the "
    "training the token is for."
)
FORM_EXPIRED = (
    "This form was open for too long, or your browser didn't keep its cookie. Check your "
    "details and send the form again."
)
PROBLEM_HEADING = "There is a problem"
REF_TOKEN = "Your token comes with the link you followed, so there is nothing to type here."
REF_BROKEN = (
    "The link you followed isn't a registration link that works here: it may have been cut "
    "short. Type the token you were given below, or ask whoever shared the link for a new one."
)


@dataclass(frozen=True)
class Answer:
    """A page after a registration or a confirmation: a heading, sentences, perhaps a link."""

    heading: str
    sentences: tuple[str, ...]
    link: tuple[str, str] | None = None  # (text, url)


def refusal(registration: Registration) -> tuple[str, str]:
    """(field, sentence) for a registration that was refused: the form shows it on that field.
    Unknown, mistyped and deleted tokens share one sentence."""
    outcome = registration.outcome
    if outcome is Registered.TOKEN_DISABLED:
        return "token", (
            "This token is currently disabled. Ask whoever gave it to you when it will work "
            "again, or for another token."
        )
    return "token", (
        "There is no registration token with that code. Check it against the one you were "
        "given (10 letters and digits, like ABCDE-FGHJK), or ask whoever gave it to you for a "
        "current one."
    )


def _way_in(title: str, url: str | None, email: str) -> tuple[tuple[str, ...], tuple | None]:
    if url:
        return (), (f"Open {title}", url)
    return (f"You'll find it on your learning platform when you sign in as {email}.",), None


def answer(registration: Registration) -> Answer:
    """The page after a registration that went through. A new address and one that has an
    account read the same, with SMTP and without: the page is public, and must not tell anyone
    who has an account or what it holds (that is said to the owner, through the emailed link)."""
    item = registration.item
    assert item is not None
    title, email = item.title, registration.email
    if registration.outcome.emailed:
        return Answer(
            "Check your email",
            (
                f"We've sent an email to {email}. Open the link in it within {CONFIRM_DAYS} "
                f"days to confirm your address and start {title}.",
                "No email after a few minutes? Look in your spam folder, or send this form "
                "again with the same details for a new one.",
            ),
        )
    more, link = _way_in(title, item.url, email)
    return Answer(
        "Thank you for registering",
        (
            f"If {email} is new to us, you're now registered and enrolled in {title}.",
            *more,
            f"If {email} already has an account with us, this page can't check that the address "
            "is yours, so it changes nothing for it: sign in to your learning platform the way "
            f"your organisation gives you, or ask your training team to enrol you in {title}.",
        ),
        link,
    )


_ENROLLED = {
    Outcome.ENROLLED: "You're enrolled in {}.",
    Outcome.ALREADY_ENROLLED: "You're already enrolled in {}, so nothing changed.",
    Outcome.ALREADY_COMPLETED: "You've already completed {}. Your completion stands and nothing "
    "changed.",
}


def confirmation(result: Confirmation) -> Answer:
    """The page a confirmation link opens: its owner has shown the address is theirs, so it
    says where they stand."""
    if result.outcome is Confirmed.EXPIRED:
        return Answer(
            "This link has expired",
            (
                f"This confirmation link has expired: links work for {CONFIRM_DAYS} days. "
                "Register again with your token to get a new email.",
            ),
        )
    if result.outcome is Confirmed.TAMPERED:
        return Answer(
            "This link doesn't work",
            (
                "This confirmation link isn't valid: it may have been changed or cut short. "
                "Open the link in the email exactly as it came, or register again with your "
                "token to get a new email.",
            ),
        )
    item, user = result.item, result.user
    assert item is not None and user is not None
    refused = _confirm_refusal(result.outcome, item.title)
    if refused is not None:
        return refused
    more, link = _way_in(item.title, item.url, user.email)
    enrolled = _ENROLLED[result.enrolled or Outcome.ENROLLED].format(item.title)
    return Answer(
        "Email address confirmed",
        (
            f"Thank you, {user.first_name or user.email}: your email address {user.email} is "
            "confirmed.",
            enrolled,
            *(() if result.enrolled is Outcome.ALREADY_COMPLETED else more),
        ),
        link,
    )


def _confirm_refusal(outcome: Confirmed, title: str) -> Answer | None:
    if outcome is Confirmed.DEACTIVATED:
        return Answer(
            "Your account is deactivated",
            (
                f"The account for this email address is deactivated, so it can't be enrolled "
                f"in {title}. Contact the training team of the organisation that gave you the "
                "token.",
            ),
        )
    if outcome is Confirmed.TOKEN_DISABLED:
        return Answer(
            "This token is currently disabled",
            (
                f"Your address is confirmed, but the token you registered with is currently "
                f"disabled, so you weren't enrolled in {title}. Ask whoever gave it to you when "
                "it will work again, then open this link again.",
            ),
        )
    if outcome is Confirmed.TOKEN_UNKNOWN:
        return Answer(
            "This token no longer works",
            (
                f"Your address is confirmed, but the token you registered with was deleted, so "
                f"you weren't enrolled in {title}. Ask whoever gave it to you for a current one.",
            ),
        )
    return None


def too_many(per_token: bool, retry_after: float, now: datetime) -> str:
    """Why the page won't take another try yet, and when it will."""
    minutes = max(1, math.ceil(retry_after / 60))
    at = datetime.fromtimestamp(now.timestamp() + retry_after, tz=now.tzinfo)
    whose = "with this token" if per_token else "from your network"
    wait = "1 minute" if minutes == 1 else f"{minutes} minutes"
    return (
        f"There have been too many registration attempts {whose}. Please try again in "
        f"{wait} (after {at:%H:%M} UTC); what you typed is kept below."
    )


def invitation(payloads: list[dict], urls: list[str]) -> tuple[str, str]:
    """(subject, plain-text body) of the invitation email for one address; several
    registrations waiting for the same address go in one email, each with its link."""
    first = payloads[0]
    titles = [str(p.get("item", "")) for p in payloads]
    name = str(first.get("first_name", "")) or "there"
    organisation = str(first.get("organisation", ""))
    if len(payloads) == 1:
        subject = f"Confirm your email address to start {titles[0]}"
    else:
        subject = "Confirm your email address to start your training"
    lines = [f"Hello {name},", ""]
    for payload, title, url in zip(payloads, titles, urls, strict=True):
        if "token_id" in payload:  # an address with an account: the link enrols it
            said = (
                f"Your email address was given on {organisation}'s registration page for "
                f"{title}. To be enrolled, confirm that the address is yours here (the link "
                f"works for {CONFIRM_DAYS} days):"
            )
        else:
            said = (
                f"You registered for {title} with {organisation}, and you're enrolled. Confirm "
                f"your email address and start it here (the link works for {CONFIRM_DAYS} "
                "days):"
            )
        lines += [said, url, ""]
    if any("token_id" in p for p in payloads):
        lines.append(
            "If it wasn't you, ignore this email: nothing changes unless the link is opened."
        )
    else:
        lines.append(
            "If it wasn't you who registered, ignore this email: nothing more will be sent to you."
        )
    return subject, "\n".join(lines) + "\n"


# A registration button (`post ITEM --token TOKEN`) in chat --------------------------------------

MODAL_TITLE = "Register"  # a Slack modal's title holds 24 characters
MODAL_SUBMIT = "Register"
MODAL_DONE = "Done"
MODAL_CANNOT = "You can't register here"


def too_many_from_account(minutes: int) -> str:
    wait = "1 minute" if minutes == 1 else f"{minutes} minutes"
    return f"There have been too many registrations from your account. Try again in {wait}."


@dataclass(frozen=True)
class RegistrationForm:
    """Ask a guest, or someone from another organisation, who clicked a registration button
    for the page's fields in a form (a Slack modal), filled in from their chat profile. The
    token is the button's, carried as a signed reference and never shown."""

    ref: str  # the signed reference to the token (handlers.signing.RegistrationRefSigner)
    item_title: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    channel: str | None = None  # where the button was clicked

    @property
    def intro(self) -> str:
        return (
            f"Register for {self.item_title}: check your name and email address, then send "
            "this form."
        )


def button_refusal(registration: Registration) -> tuple[str, str]:
    """(field, sentence) for a registration through a button that was refused: a disabled or
    deleted token has no field of its own in the form (field "")."""
    outcome = registration.outcome
    if outcome is Registered.TOKEN_DISABLED:
        return "", (
            "This token is currently disabled, so this button can't register you. Ask whoever "
            "posted it when it will work again."
        )
    return "", (
        "This registration button no longer works: its token was deleted. Ask whoever posted it "
        "for a current one."
    )


def register_elsewhere(title: str, url: str) -> str:
    """For a guest or outsider whose chat can't show the form (Teams, or a Slack modal that
    could not open): the registration page, with the button's token filled in."""
    return (
        f"This button enrols members of the organisation that posted it. To register for {title} "
        f"as a guest or as someone from another organisation, open {url} and fill in your name "
        "and email address."
    )
