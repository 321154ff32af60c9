"""Spreadsheet enrolments (`enrol import`): each import, previewed then started, and the rows
of its file staged while it waits, so the preview and the import are queries over a table."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, text_enum, utcnow


class ImportStatus(enum.StrEnum):
    PENDING = "pending"  # previewed, waiting for Start import
    RUNNING = "running"
    DONE = "done"


class EnrolImport(Base):
    """One spreadsheet enrolment: who ran it, the file, and its counts once it ran."""

    __tablename__ = "enrol_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("portal_user.id"))
    by: Mapped[str] = mapped_column(String(400))  # the account or tool that ran it
    filename: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[ImportStatus] = mapped_column(
        text_enum(ImportStatus, "enrol_import_status"), default=ImportStatus.PENDING
    )
    rows: Mapped[int] = mapped_column(Integer, default=0)  # the file's rows with an email
    problems: Mapped[int] = mapped_column(Integer, default=0)  # rows with errors
    enrolled: Mapped[int] = mapped_column(Integer, default=0)  # enrolments made
    already: Mapped[int] = mapped_column(Integer, default=0)  # enrolled or completed before
    refused: Mapped[int] = mapped_column(Integer, default=0)  # people who could not be
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EnrolImportRow(Base):
    """One mark of a staged file: line `line` asks for `email` in `item_id`; or, with a
    `problem`, a row that cannot be read (no item). Deleted once the import ran."""

    __tablename__ = "enrol_import_row"
    __table_args__ = (Index("ix_enrol_import_row_import_item", "import_id", "item_id", "line"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("enrol_import.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(Integer)
    email: Mapped[str] = mapped_column(String(320), default="")  # lower-cased
    # The person with that email when the file was staged (looked up by the batch, by index):
    # the preview and the import join on it, never on an expression over every person.
    user_id: Mapped[int | None] = mapped_column(Integer)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_item.id"))
    problem: Mapped[str | None] = mapped_column(Text)
