"""The rendering database: each document's versions (the generation counter is their count)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, DateTime, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ledgerline_shared.messaging.tables import define_messaging_tables


class Base(DeclarativeBase):
    pass


messaging = define_messaging_tables(Base.metadata)


class RenderedDocumentRow(Base):
    __tablename__ = "rendered_documents"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # number, or id for a preview
    number: Mapped[str | None] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(12))
    client_id: Mapped[str | None] = mapped_column(String(36), index=True)
    issue_date: Mapped[dt.date] = mapped_column(Date)
    generation_count: Mapped[int] = mapped_column(Integer, default=0)
    document: Mapped[str] = mapped_column(Text)  # the latest Document JSON rendered


class DocumentVersionRow(Base):
    __tablename__ = "document_versions"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    rendered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(String(500))
    request_id: Mapped[str | None] = mapped_column(String(64))
    files: Mapped[dict[str, dict[str, object]]] = mapped_column(JSON)  # kind -> {path, sha256, size}
    # When its copy in `production/` (the SFTP tree) was known to be there; NULL until then
    # (service/production_copies.py finishes what a killed process left).
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("key", "request_id", name="uq_version_request"),
        Index(
            "ix_versions_unpublished",
            "rendered_at",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )
