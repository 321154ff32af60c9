"""The Slack workspace every benchmark plays in: its keys, its admin and channels, and clicks
signed as Slack signs them. People are `UB<n>` with `email_of(n)` (tests/support/seed.py)."""

from __future__ import annotations

from tests.support.seed import email_of, user_id  # noqa: F401  (scripts name people by them)
from tests.support.slack_world import action_body, slack_signature

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-test-token"  # the token the Slack stand-in accepts
SECRET_KEY = "bench-secret-key-0123456789abcdef"
TEAM = "T0ACME"
ADMIN_ID = "U0BOSS"
ADMIN_EMAIL = "boss@acme.test"
CLICK_CHANNEL = "C0CLICKS"
ALERT_CHANNEL = "C0ALERTS"


def signed_headers(body: str) -> dict[str, str]:
    """Headers as Slack sends them, signed now (Bolt refuses timestamps over 5 minutes old)."""
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        **slack_signature(body, SIGNING_SECRET),
    }


def click_body(user: str, token: str, response_url: str, channel: str = CLICK_CHANNEL) -> str:
    """A `block_actions` payload for a click on an Enrol button, form-encoded as Slack posts it."""
    return action_body(user, "enrol", token, response_url, channel=channel)
