"""What the Slack end-to-end tests read back from the seeded workspace: the enrolments before and
after Ann's click, a link's uses, audit rows, how often Slack was asked about someone, and the
answer an admin reads to a command."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from store.models import AuditEvent, Enrolment, Identity, utcnow
from tests.support.slack_world import ADMIN, SlackWorld, text_of

ENROLLED_ANN = [
    ("ann@acme.test", "safety-101", "enrolled"),
    ("done@acme.test", "safety-101", "completed"),
]
BEFORE = [("done@acme.test", "safety-101", "completed")]


def uses(world: SlackWorld, link_id: int = 1) -> int:
    return world.db.count(Enrolment, Enrolment.link_id == link_id)


def audit_of(world: SlackWorld, action: str) -> list[AuditEvent]:
    async def work(session):
        rows = await session.execute(select(AuditEvent).where(AuditEvent.action == action))
        return list(rows.scalars())

    return world.db.run(work)


# What someone outside our workspace (or our grid) is told when they click.
EXTERNAL = "This button is for members of the organisation that posted it."


def age_identity(world: SlackWorld, subject: str, minutes: int = 2) -> None:
    """Let time pass for what is stored about an account."""

    async def work(session):
        identity = (
            await session.execute(select(Identity).where(Identity.subject == subject))
        ).scalar_one()
        identity.updated_at = utcnow() - timedelta(minutes=minutes)

    world.db.run(work)


def lookups_of(world: SlackWorld, user: str) -> int:
    return [c.args["user"] for c in world.slack.calls_of("users.info")].count(user)


def subscribe(world: SlackWorld, text: str) -> str:
    """What the admin reads after typing `text` (a notify command, as the alert tests use it)."""
    return text_of(world.command(ADMIN, text))
