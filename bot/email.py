"""Email through SMTP (SMTP_URL): alerts for the primary admin and stakeholder inboxes, and
invitations to people who registered with a token.

smtplib runs in a worker thread: it is blocking, and an alert is a handful of lines. Each
socket operation is bounded by TIMEOUT_SECONDS. The message is built before any connection:
one that cannot be built (an address no header can hold) is a bad message, failed at once,
never retried. What a person typed reaches a header only as one line of printable text.
"""

from __future__ import annotations

import asyncio
import logging
import re
import smtplib
import ssl
from collections.abc import Callable
from email.errors import HeaderDefect, MessageError
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from handlers.alert_message import (
    GROUP_INVITATION,
    INVITATION,
    JOIN_CONFIRM,
    AlertMessage,
    Shape,
    plain,
)
from handlers.alert_message import compose as compose_alert
from handlers.invitations_text import invitation_email, join_email
from handlers.outbox import Batch, Result, SendOutcome
from handlers.registration_text import invitation
from handlers.reminders.words import REMINDER, SUMMARY, compose_summary
from handlers.reminders.words import compose as compose_reminders
from handlers.rules.telling import LEARNER
from handlers.rules.telling import compose as compose_learner

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10  # each socket operation; the outbox bounds the whole send
SUBJECT_MAX = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


class SmtpSettings:
    """smtp://[user:password@]host[:port][?from=alerts@example.com&starttls=true], or smtps://
    for TLS from the first byte."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:password@host:587?starttls=true")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.tls = parts.scheme == "smtps"
        self.starttls = query.get("starttls", "").lower() in ("1", "true", "yes")
        self.host = parts.hostname
        self.port = parts.port or (465 if self.tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = query.get("from") or f"enrolbot@{self.host}"


def one_line(text: str) -> str:
    """Header-safe text: line breaks and other control characters become single spaces."""
    return " ".join(_CONTROL.sub(" ", text).split())


def subject(alert: AlertMessage) -> str:
    return one_line(alert.subject())[:SUBJECT_MAX]


def body(alert: AlertMessage) -> str:
    """Plain text: nothing in it is markup, so names and titles need no escaping beyond
    dropping control characters that could forge lines."""
    if alert.shape is Shape.NOTICE:
        return one_line(plain(alert.notice)) + "\n"
    lines = [one_line(plain(e.sentence(with_email=True, with_date=True))) for e in alert.entries]
    more = alert.more("email")
    if more:
        lines.append(f"\n{more}")
    return "\n".join(lines) + "\n"


# The signed link of one outbox payload that carries one (a registration's confirmation, an
# invitation into a group, a join page's confirmation), signed as the email is sent.
InvitationLink = Callable[[dict], str]
_WITH_LINKS = {
    INVITATION: invitation,
    GROUP_INVITATION: invitation_email,
    JOIN_CONFIRM: join_email,
}


def build(sender: str, batch: Batch, invitation_link: InvitationLink | None = None) -> EmailMessage:
    """The email for a batch; ValueError (or an email error) when it cannot be built."""
    words = _WITH_LINKS.get(batch.kind)
    if words is not None:
        if invitation_link is None:
            raise ValueError("invitations need the public URL and keys to sign their links")
        title, text = words(batch.payloads, [invitation_link(p) for p in batch.payloads])
        text = "\n".join(one_line(line) for line in text.split("\n"))
    elif batch.kind == LEARNER:
        learner = compose_learner(batch.payloads, batch.total_due)
        title, text = learner.subject(), "\n".join(one_line(x) for x in learner.text().split("\n"))
    elif batch.kind == REMINDER:
        told = compose_reminders(batch.payloads, batch.total_due)
        title, text = told.subject(), "\n".join(one_line(x) for x in told.text().split("\n"))
    elif batch.kind == SUMMARY:
        team = compose_summary(batch.payloads)
        title, text = team.heading, "\n".join(one_line(x) for x in team.text().split("\n"))
    else:
        alert = compose_alert(batch.kind, batch.payloads, batch.total_due)
        title, text = subject(alert), body(alert)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = batch.to.target
    message["Subject"] = one_line(title)[:SUBJECT_MAX]
    message.set_content(text)
    if message["To"].defects:
        raise ValueError("the address is not one an email can be sent to")
    message.as_bytes()  # folding and encoding fail here, not halfway into a conversation
    return message


class EmailDelivery:
    def __init__(
        self, settings: SmtpSettings, invitation_link: InvitationLink | None = None
    ) -> None:
        self.settings = settings
        self.invitation_link = invitation_link

    def _send_now(self, message: EmailMessage) -> None:
        s = self.settings
        connect = smtplib.SMTP_SSL if s.tls else smtplib.SMTP
        with connect(s.host, s.port, timeout=TIMEOUT_SECONDS) as smtp:
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.username:
                smtp.login(s.username, s.password or "")
            smtp.send_message(message)

    async def send(self, batch: Batch) -> SendOutcome:
        try:
            message = build(self.settings.sender, batch, self.invitation_link)
        except (ValueError, TypeError, KeyError, MessageError, HeaderDefect) as exc:
            return SendOutcome(Result.REJECTED, f"the email could not be built ({exc})"[:200])
        try:
            await asyncio.to_thread(self._send_now, message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(code >= 500 for code in codes):
                return SendOutcome(
                    Result.FAILED, f"the mail server refused the address ({codes[0]})"
                )
            return SendOutcome(Result.RETRY, f"the mail server deferred the address ({codes[0]})")
        except smtplib.SMTPDataError as exc:
            if exc.smtp_code >= 500:  # the content was refused: this message, not the inbox
                return SendOutcome(Result.REJECTED, f"the mail server refused it: {exc.smtp_code}")
            return SendOutcome(Result.RETRY, f"the mail server answered {exc.smtp_code}")
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500 and exc.smtp_code != 554:
                return SendOutcome(Result.FAILED, f"the mail server refused: {exc.smtp_code}")
            return SendOutcome(Result.RETRY, f"the mail server answered {exc.smtp_code}")
        except (OSError, smtplib.SMTPException) as exc:
            return SendOutcome(Result.RETRY, f"{type(exc).__name__} talking to the mail server")
        return SendOutcome.sent()
