"""What a browser shows for a deep link and its sign-in, as plain data the web pages render
(bot/web/templates/page.html). A click's answers come from handlers.replies, worded here for a
page where there is no button to click again; every other sentence of these pages is written
here, once."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.enrol import EnrolResult, Outcome
from handlers.replies import SOMETHING_WENT_WRONG, Tone, click_reply

# A deep link opened in a browser: the click's answer, worded for a page where there is no
# button to click again.
_PAGE_TEXT = {
    Outcome.EXTERNAL: (
        "This link is for members of the organisation that shared it, so it can't enrol you. "
        "If you'd like this training, ask your own organisation's training admin."
    ),
    Outcome.ACCOUNT_DEACTIVATED: (
        "Your account is deactivated, so it can't enrol. Contact your IT admin."
    ),
    Outcome.NO_EMAIL: (
        "Your sign-in didn't share your email address, so I can't match you to your training "
        "account. Ask your IT admin to let enrolbot see members' email addresses, then open "
        "this link again."
    ),
    Outcome.NO_USER: (
        "There's no training account for {email}. Ask your training admin to add you, then "
        "open this link again."
    ),
    Outcome.USER_DEACTIVATED: (
        "Your training account ({email}) is deactivated. Ask your training admin to reactivate "
        "it, then open this link again."
    ),
}
_ON_THE_WAY_IN = (Outcome.ENROLLED, Outcome.ALREADY_ENROLLED, Outcome.ALREADY_COMPLETED)


@dataclass(frozen=True)
class WebPage:
    """A page a browser shows: a heading, sentences, and perhaps the link to go on with."""

    heading: str
    sentences: tuple[str, ...]
    link: tuple[str, str] | None = None  # (words, https URL)
    tone: Tone = Tone.INFO
    other_account: str | None = None  # where to sign in as someone else, for a refused person


# Refusals of the person, not the link: signing in with another account may help.
_NOT_FOR_THIS_ACCOUNT = frozenset(
    {
        Outcome.GUEST,
        Outcome.EXTERNAL,
        Outcome.BOT,
        Outcome.ACCOUNT_DEACTIVATED,
        Outcome.NO_EMAIL,
        Outcome.NO_USER,
        Outcome.USER_DEACTIVATED,
        Outcome.PROSPECT,
    }
)
OTHER_ACCOUNT = "Signed in with the wrong account? Sign in with another one."


def enrol_page(result: EnrolResult, sign_in_again: str | None = None) -> WebPage:
    """What a deep link shows once the person is known (or the link itself is unusable);
    a refused person is offered `sign_in_again`, a URL to sign in as someone else."""
    title = result.item.title if result.item else "Enrolment link"
    notice = click_reply(result)
    text = _PAGE_TEXT.get(result.outcome)
    sentence = text.format(email=result.email or "your email") if text else notice.text
    url = result.item.url if result.item else None
    if result.outcome in _ON_THE_WAY_IN and url and url.startswith(("https://", "http://")):
        return WebPage(title, (sentence,), (f"Open {title}", url), notice.tone)
    if result.outcome in _ON_THE_WAY_IN:
        later = "You'll find it with the rest of your learning in your training portal."
        return WebPage(title, (sentence, later), None, notice.tone)
    again = sign_in_again if result.outcome in _NOT_FOR_THIS_ACCOUNT else None
    return WebPage(title, (sentence,), None, notice.tone, again)


def sign_in_missing(title: str) -> WebPage:
    """A deep link opened where no browser sign-in is set up: it still names its item."""
    return WebPage(
        title,
        (
            f"This link is for {title}. Opening it in a browser needs sign-in with your work "
            "account, which isn't set up here yet.",
            f"For now, click the Enrol button for {title} where your admin posted it, in Slack "
            "or Microsoft Teams; if you can't find it, ask the admin who shared this link.",
            "Admins: turn on sign-in with Microsoft Entra ID (the MICROSOFT_APP_* settings) or "
            "Sign in with Slack (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET), as the guide to "
            "deep links (docs/deep-links.md) describes.",
        ),
    )


CHOOSE_SIGN_IN = WebPage(
    "Sign in to continue",
    ("Sign in with your work account, so enrolbot knows who to enrol.",),
)
SIGN_IN_FAILED = WebPage(
    "Sign-in didn't finish",
    (
        "Sign-in didn't finish, so nothing changed. Open the link again to start over; if it "
        "keeps happening, tell your training admin.",
    ),
    tone=Tone.ERROR,
)
SIGN_IN_USED = WebPage(
    "Sign-in already used",
    (
        "This sign-in was already used or has expired, so nothing changed. Open the link "
        "again to sign in afresh.",
    ),
    tone=Tone.ERROR,
)
SIGNED_IN = WebPage(
    "You're signed in",
    ("Open the enrolment link you were given again, and it will enrol you.",),
)
NO_SIGN_IN = WebPage(
    "Sign-in isn't set up",
    (
        "Sign-in with a work account isn't set up here yet. Ask your training admin to turn "
        "it on, as the guide to deep links (docs/deep-links.md) describes.",
    ),
    tone=Tone.ERROR,
)
OUTSIDER_SIGNED_IN = enrol_page(EnrolResult(Outcome.EXTERNAL))
WENT_WRONG = WebPage("Something went wrong", (SOMETHING_WENT_WRONG.text,), tone=Tone.ERROR)
