"""Alerts by email through SMTP (SMTP_URL), for the primary admin and stakeholder inboxes.

smtplib runs in a worker thread: it is blocking, and an alert is a handful of lines.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from handlers.outbox import Batch, Result, SendOutcome

TIMEOUT_SECONDS = 20


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


def _subject(batch: Batch) -> str:
    if batch.kind == "notice":
        return "enrolbot: alerts stopped"
    items = sorted({p["item"] for p in batch.payloads})
    count = len(batch.payloads)
    what = items[0] if len(items) == 1 else f"{len(items)} items"
    prefix = f"{batch.kind.split(':')[1].capitalize()} digest: " if ":" in batch.kind else ""
    return f"{prefix}{count} self-enrolment{'s' if count != 1 else ''} in {what}"


def _body(batch: Batch) -> str:
    if batch.kind == "notice":
        return batch.payloads[0]["text"].replace("`", "") + "\n"
    lines = [
        f"{p['person']} ({p['user_type']}, {p['email']}) enrolled themselves in {p['item']} "
        f"through {p['link']} at {p['at'][:16].replace('T', ' ')} UTC."
        for p in batch.payloads
    ]
    if batch.total_due > len(batch.payloads):
        lines.append(
            f"\nThe other {batch.total_due - len(batch.payloads)} follow in the next email."
        )
    return "\n".join(lines) + "\n"


class EmailDelivery:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def _send_now(self, batch: Batch) -> None:
        s = self.settings
        message = EmailMessage()
        message["From"] = s.sender
        message["To"] = batch.destination.split(":", 1)[1]
        message["Subject"] = _subject(batch)
        message.set_content(_body(batch))
        connect = smtplib.SMTP_SSL if s.tls else smtplib.SMTP
        with connect(s.host, s.port, timeout=TIMEOUT_SECONDS) as smtp:
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.username:
                smtp.login(s.username, s.password or "")
            smtp.send_message(message)

    async def send(self, batch: Batch) -> SendOutcome:
        try:
            await asyncio.to_thread(self._send_now, batch)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(code >= 500 for code in codes):
                return SendOutcome(
                    Result.FAILED, f"the mail server refused the address ({codes[0]})"
                )
            return SendOutcome(Result.RETRY, f"the mail server deferred the address ({codes[0]})")
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500 and exc.smtp_code != 554:
                return SendOutcome(Result.FAILED, f"the mail server refused: {exc.smtp_code}")
            return SendOutcome(Result.RETRY, f"the mail server answered {exc.smtp_code}")
        except (OSError, smtplib.SMTPException) as exc:
            return SendOutcome(Result.RETRY, f"{type(exc).__name__} talking to the mail server")
        return SendOutcome.sent()
