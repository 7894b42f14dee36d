"""The notification database: the delivery log (one row per e-mail to send) and the documents it
knows from `document.rendered` (where each one's latest PDF is, who receives it)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ledgerline_shared.messaging.tables import define_messaging_tables


class Base(DeclarativeBase):
    pass


messaging = define_messaging_tables(Base.metadata)


class DeliveryRow(Base):
    __tablename__ = "deliveries"
    # The Message-ID is derived from it: the same delivery always carries the same Message-ID.
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(12))
    number: Mapped[str] = mapped_column(String(64))  # document number, or export id
    request_id: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12))
    recipients: Mapped[list[dict[str, str]]] = mapped_column(JSON)  # [{name, email}]
    language: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[str | None] = mapped_column(String(64))
    requested_by: Mapped[str | None] = mapped_column(String(254))
    # Relative to the document store's root; None until the document has been rendered.
    attachment_path: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # an export's kind, format, rows, report
    # W3C traceparent/tracestate of the work that recorded it: the worker sends within that trace.
    trace_context: Mapped[dict[str, str] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(64))  # the worker process that is sending it
    # When claimed, then when its SMTP transaction began: the lease runs from the later of the two.
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Committed just before this attempt's SMTP transaction: an expired claim without it never reached
    # the server and is sent again; with it, the e-mail may have left (`unconfirmed`).
    smtp_started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    smtp_response: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("number", "request_id", name="uq_delivery_request"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_number", "number", "created_at"),
    )


class KnownDocumentRow(Base):
    """A document as `document.rendered` last described it."""

    __tablename__ = "known_documents"
    number: Mapped[str] = mapped_column(String(64), primary_key=True)
    document_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    type: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer)
    pdf_path: Mapped[str] = mapped_column(Text)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    issue_date: Mapped[dt.date] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[str | None] = mapped_column(String(64), index=True)
    recipients: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
