"""Work held under a lease so that a dead worker's share is taken over: scheduled jobs, and
clicks acknowledged before their enrolment was committed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, utcnow


class JobLease(Base):
    """One per scheduled job: which worker runs it now, and until when that worker may be
    silent before another takes the job over (it died). Taken with a conditional UPDATE, so
    with several workers exactly one runs a job at a time."""

    __tablename__ = "job_lease"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PendingClick(Base):
    """A click acknowledged before its enrolment was committed, kept until it is answered: a
    worker that dies after the acknowledgement leaves it for its restart, or another worker,
    to finish. The lease says who is working on it; its holder renews it while it works."""

    __tablename__ = "pending_click"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    tenant_key: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(64))
    # The clicker's own team or tenant, when the platform says (a shared channel's stranger).
    home_tenant: Mapped[str | None] = mapped_column(String(64))
    home_org: Mapped[str | None] = mapped_column(String(64))  # a Slack Enterprise Grid's id
    token: Mapped[str] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(200))
    # Where the answer goes (Slack's response_url, valid for 30 minutes).
    reply_to: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
