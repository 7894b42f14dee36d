"""The export database: its own read model of issued documents, export jobs and SFTP accounts.

Nothing here is read from another service: `issued_documents` is fed by invoice.issued,
creditnote.issued, proforma.created and document.rendered.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ledgerline_shared.job_lease import LeaseColumns
from ledgerline_shared.messaging.tables import define_messaging_tables

AMOUNT = Numeric(18, 2)


class Base(DeclarativeBase):
    pass


messaging = define_messaging_tables(Base.metadata)


class IssuedDocumentRow(Base):
    """One issued document (invoice, credit note, proforma) and where its latest files are.

    A `document.rendered` may arrive before the issue event (other topic, other partition): the row is
    then created with the rendering columns only, and `document` stays NULL until the issue event;
    every query of the exports skips such rows.
    """

    __tablename__ = "issued_documents"
    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    type: Mapped[str] = mapped_column(String(12))
    # Invoices: the status invoicing decided (domain/invoice_status.py), and the gross credited on the
    # invoice when it was decided, which tells a newer status from an older one.
    status: Mapped[str] = mapped_column(String(20), default="issued")
    status_credited_total: Mapped[Decimal | None] = mapped_column(AMOUNT)
    client_id: Mapped[str | None] = mapped_column(String(64), index=True)
    client_code: Mapped[str | None] = mapped_column(String(64))
    client_name: Mapped[str | None] = mapped_column(String(300))
    issue_date: Mapped[dt.date] = mapped_column(Date)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM of the issue date
    currency: Mapped[str | None] = mapped_column(String(3))
    net: Mapped[Decimal | None] = mapped_column(AMOUNT)  # unsigned, as issued
    vat: Mapped[Decimal | None] = mapped_column(AMOUNT)
    gross: Mapped[Decimal | None] = mapped_column(AMOUNT)
    vat_rates: Mapped[str | None] = mapped_column(String(200))  # "20.00,5.50": the Excel layout's columns
    original_number: Mapped[str | None] = mapped_column(String(32), index=True)  # credit notes
    # Credit notes: the credited invoice's status and credited total once this note counts, as the
    # event carried them (NULL on legacy events), kept for an invoice that arrives after its notes.
    credited_invoice_status: Mapped[str | None] = mapped_column(String(20))
    credited_invoice_total: Mapped[Decimal | None] = mapped_column(AMOUNT)
    document: Mapped[str | None] = mapped_column(Text)  # the Document JSON as issued
    received_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=0)  # latest rendered version, 0: none yet
    pdf_path: Mapped[str | None] = mapped_column(String(400))  # relative to the store root
    ubl_path: Mapped[str | None] = mapped_column(String(400))
    json_path: Mapped[str | None] = mapped_column(String(400))
    rendered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_issued_month", "month", "issue_date", "number"),
        Index("ix_issued_date", "issue_date", "number"),
    )


class ExportJobRow(LeaseColumns, Base):  # leased: ledgerline_shared/job_lease.py
    __tablename__ = "export_jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # excel | grouped_pdf | accounting
    format: Mapped[str | None] = mapped_column(String(8))  # accounting: fec | datev | iif | xero | csv
    date_from: Mapped[dt.date] = mapped_column(Date)
    date_to: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), index=True)  # queued | running | completed | failed
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int | None] = mapped_column(Integer)
    path: Mapped[str | None] = mapped_column(String(400))  # relative to the store root
    report: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by_sub: Mapped[str] = mapped_column(String(200))
    requested_by_email: Mapped[str] = mapped_column(String(320))
    notify: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class SftpUserRow(Base):
    __tablename__ = "sftp_users"
    username: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))  # argon2id, never the password
    authorized_keys: Mapped[list[str]] = mapped_column(JSON, default=list)  # OpenSSH public key lines
    password_issued_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Revoked: password and keys wiped; a new password (a valid token again) lifts it.
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(String(200))


class SftpLoginAttemptRow(Base):
    """Every SFTP login attempt (the audit log); failures also feed the lockout."""

    __tablename__ = "sftp_login_attempts"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(16))  # password | publickey
    outcome: Mapped[str] = mapped_column(String(16))  # success | failed | refused
    reason: Mapped[str] = mapped_column(String(200), default="")
    __table_args__ = (
        Index("ix_sftp_login_attempts_user", "username", "at"),
        Index("ix_sftp_login_attempts_address", "address", "at"),
    )
