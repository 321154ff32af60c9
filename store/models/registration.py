"""Self-registration tokens: short codes that outsiders type on the registration page to sign
themselves up and be enrolled in one of the organisation's own items."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, utcnow


class RegistrationToken(Base):
    __tablename__ = "registration_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("catalog_item.id"), index=True)
    nickname: Mapped[str | None] = mapped_column(String(200))
    # A keyed hash of the code, never the code itself; unique, so a typed code finds one row
    # through the index. Erased on delete, so a deleted token's code never matches again.
    code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeletedRegistrationToken(Base):
    """A tombstone kept apart from the token's row, as for links: writing back an old copy of
    that row (a restored backup) does not bring the token back to life."""

    __tablename__ = "deleted_registration_token"

    token_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_user.id"))
