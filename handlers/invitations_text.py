"""Every sentence of invitations and the join page: the emails, the pages and the admins' news
(handlers.invitations and handlers.join decide; the web pages and the email render)."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.invitation_accept import Checked
from store.models import Group, User

ACCEPT_HEADING = "Accept your invitation"
JOIN_HEADING = "Ask to join"
PROBLEM_HEADING = "There is a problem"
ACCEPT_BUTTON = "Accept and join"
JOIN_BUTTON = "Send me the link"


@dataclass(frozen=True)
class Answer:
    """A page: a heading and sentences (rendered by answer.html)."""

    heading: str
    sentences: tuple[str, ...]
    link: tuple[str, str] | None = None


def accept_intro(organisation: str, group: str, known: bool) -> str:
    if known:
        return (
            f"{organisation} invited you to join {group}. You already have an account, so "
            "accepting adds you to the group and to the training it takes."
        )
    return (
        f"{organisation} invited you to join {group}. Check your name as it should appear, "
        "then accept: you'll be enrolled in the training the group takes."
    )


def name_problems(first_name: str, last_name: str) -> dict[str, str]:
    found = {}
    for name, value, words in (
        ("first_name", first_name, "first name"),
        ("last_name", last_name, "last name"),
    ):
        if not value:
            found[name] = f"Enter your {words}."
        elif len(value) > 100:
            found[name] = f"Keep your {words} to 100 characters."
    return found


_LINK_ANSWERS = {
    Checked.BROKEN: Answer(
        "This invitation link doesn't work",
        (
            "The link may have been cut short, or a newer invitation replaced it. Open the "
            "latest invitation email you were sent, or ask whoever invited you to send it again.",
        ),
    ),
    Checked.EXPIRED: Answer(
        "This invitation has expired",
        ("Ask whoever invited you to send the invitation again.",),
    ),
    Checked.CANCELLED: Answer(
        "This invitation was cancelled",
        ("It no longer works. If you think that's a mistake, ask whoever invited you.",),
    ),
    Checked.GROUP_GONE: Answer(
        "This invitation can't be accepted",
        ("The group it was for no longer exists. Ask whoever invited you.",),
    ),
    Checked.DEACTIVATED: Answer(
        "This invitation can't be accepted",
        (
            "The account for your email address is deactivated. Contact the training team "
            "that invited you.",
        ),
    ),
}


def link_answer(state: Checked, group: Group | None = None) -> Answer:
    """The page for an invitation link that cannot be accepted (now), or has been."""
    if state is Checked.ACCEPTED:
        where = f": you're a member of {group.name}" if group is not None else ""
        return Answer(
            "You've accepted this invitation",
            (f"You're all set{where}, and enrolled in the training it takes.",),
        )
    return _LINK_ANSWERS[state]


def accepted_answer(group: Group) -> Answer:
    return Answer(
        "Welcome aboard",
        (
            f"You've joined {group.name}. You'll be enrolled in the training it takes within a "
            "minute, and you'll find it in the learning platform.",
        ),
    )


def accepted_news(user: User, group: Group) -> tuple[str, str]:
    """(text, subject) of the admins' news of an accepted invitation."""
    return (
        f"{user.full_name} ({user.email}) accepted their invitation and joined {group.name}.",
        "enrolbot: an invitation was accepted",
    )


def joined_news(user: User, group: Group) -> tuple[str, str]:
    return (
        f"{user.full_name} ({user.email}) joined {group.name} through the join page.",
        "enrolbot: someone joined through the join page",
    )


def invitation_email(payloads: list[dict], urls: list[str]) -> tuple[str, str]:
    """(subject, plain-text body) of the invitation email for one address; several invitations
    waiting for the same address go in one email, each with its link."""
    first = payloads[0]
    organisation = str(first.get("organisation", ""))
    days = int(first.get("days", 30))
    subject = f"You're invited to join {organisation} for training"
    lines = ["Hello,", ""]
    for payload, url in zip(payloads, urls, strict=True):
        by = str(payload.get("by", ""))
        who = f"{by} invited you" if by else "You're invited"
        lines += [
            f"{who} to join {payload.get('group', '')} at {organisation}, where your "
            f"training is waiting. Accept here (the link works for {days} days):",
            url,
            "",
        ]
    lines.append(
        "If you don't know why you got this, ignore it: nothing happens unless you accept."
    )
    return subject, "\n".join(lines) + "\n"


def join_email(payloads: list[dict], urls: list[str]) -> tuple[str, str]:
    """(subject, body) of the join page's confirmation email."""
    first = payloads[0]
    organisation = str(first.get("organisation", ""))
    name = str(first.get("first_name", "")) or "there"
    lines = [f"Hello {name},", ""]
    for url in urls[-1:]:  # several requests at once: the newest link is enough
        lines += [
            f"You asked to join {organisation} for training. Confirm it's you here (the link "
            "works for 2 days):",
            url,
            "",
        ]
    lines.append("If it wasn't you, ignore this email: nothing happens unless you confirm.")
    return f"Confirm you want to join {organisation}", "\n".join(lines) + "\n"


# The join page --------------------------------------------------------------------------------


def join_intro(organisation: str, domains: list[str]) -> str:
    only = ""
    if domains:
        listed = ", ".join(f"@{d}" for d in domains)
        only = f" Only addresses at {listed} can join."
    return (
        f"Join {organisation} to take its training. Enter your name and email address, and "
        f"we'll send you a link to confirm it's you.{only}"
    )


JOIN_OFF = Answer(
    "This join page is off",
    (
        "The organisation isn't taking new people through this page right now. Ask them for an "
        "invitation.",
    ),
)
JOIN_SENT = Answer(
    "Check your email",
    (
        "If that address can join, we've sent it a link to confirm it's you. It works for 2 "
        "days. Nothing happens until you open it.",
    ),
)
JOIN_BROKEN = Answer(
    "This confirmation link doesn't work",
    (
        "It may have been cut short, have expired, or the join page has changed since. Ask to "
        "join again from the join page.",
    ),
)
JOIN_DEACTIVATED = Answer(
    "You can't join through this page",
    ("The account for your email address is deactivated. Contact the organisation.",),
)


def joined(group: Group) -> Answer:
    return Answer(
        "You've joined",
        (
            f"You're a member of {group.name} now, and you'll be enrolled in the training it "
            "takes within a minute.",
        ),
    )


def domain_problem(domains: list[str]) -> str:
    listed = ", ".join(f"@{d}" for d in domains)
    return f"Only addresses at {listed} can join through this page."


def too_many(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    wait = "1 minute" if minutes == 1 else f"{minutes} minutes"
    return f"There have been too many requests. Try again in {wait}."


FORM_EXPIRED = (
    "This form was open for too long, or your browser didn't keep its cookie. Check your details "
    "and send the form again."
)
