"""The invoicing database: tables and their ORM classes (one Alembic history: adapters/migrations)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ledgerline_shared.job_lease import LeaseColumns
from ledgerline_shared.messaging.tables import define_messaging_tables


def _uuid() -> str:
    return str(uuid.uuid4())


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


AMOUNT = Numeric(18, 2)
PRICE = Numeric(18, 6)
QTY = Numeric(18, 4)


class Base(DeclarativeBase):
    pass


messaging = define_messaging_tables(Base.metadata)


class ClientRow(Base):
    __tablename__ = "clients"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(20))
    city: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))
    vat_id: Mapped[str | None] = mapped_column(String(32))
    siren: Mapped[str | None] = mapped_column(String(9))
    language: Mapped[str] = mapped_column(String(2), default="fr")
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    rate_plan_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ContactRow(Base):
    __tablename__ = "contacts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    invoice_recipient: Mapped[bool] = mapped_column(Boolean, default=False)


class ArticleRow(Base):
    __tablename__ = "articles"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # recurring | one_time | usage | credit_note
    unit_price: Mapped[Decimal] = mapped_column(PRICE)
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    accounting_account: Mapped[str] = mapped_column(String(20))


class SubscriptionRow(Base):
    __tablename__ = "subscriptions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    article_code: Mapped[str] = mapped_column(ForeignKey("articles.code"))
    quantity: Mapped[Decimal] = mapped_column(QTY)
    unit_price: Mapped[Decimal | None] = mapped_column(PRICE)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)


class OneTimeItemRow(Base):
    __tablename__ = "one_time_items"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    article_code: Mapped[str] = mapped_column(ForeignKey("articles.code"))
    quantity: Mapped[Decimal] = mapped_column(QTY)
    unit_price: Mapped[Decimal | None] = mapped_column(PRICE)
    label: Mapped[str | None] = mapped_column(String(200))
    repeat: Mapped[str] = mapped_column(String(12), default="once")  # once | every_cycle
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    billed_by: Mapped[str | None] = mapped_column(String(32))  # last invoice number that billed it
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class RatePlanRow(Base):
    __tablename__ = "rate_plans"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    rules: Mapped[list[dict[str, str]]] = mapped_column(JSON)  # amounts as strings


class CallRecordRow(Base):
    __tablename__ = "call_records"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    cdr_id: Mapped[str] = mapped_column(String(128), unique=True)
    account: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM of started_at in its own offset
    kind: Mapped[str] = mapped_column(String(8))
    duration_s: Mapped[int | None] = mapped_column(Integer)
    units: Mapped[Decimal | None] = mapped_column(QTY)
    caller: Mapped[str] = mapped_column(String(64), default="")
    callee: Mapped[str] = mapped_column(String(64), default="")
    client_id: Mapped[str | None] = mapped_column(String(36))
    destination: Mapped[str | None] = mapped_column(String(200))
    prefix: Mapped[str | None] = mapped_column(String(20))
    unit_price: Mapped[Decimal | None] = mapped_column(PRICE)
    connection_fee: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    billable_s: Mapped[int | None] = mapped_column(Integer)
    cost: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    unratable_reason: Mapped[str | None] = mapped_column(String(200))
    invoice_number: Mapped[str | None] = mapped_column(String(32), index=True)

    __table_args__ = (Index("ix_call_records_account_period", "account", "period"),)


class NumberSequenceRow(Base):
    """The last number given per series and year; its row lock serialises issuing."""

    __tablename__ = "number_sequences"
    series: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class DocumentRow(Base):
    """Every document: invoices, credit notes, proformas (numbered) and previews (not)."""

    __tablename__ = "documents"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    type: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(20))  # issued|partially_credited|credited|cancelled|preview
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    client_code: Mapped[str] = mapped_column(String(64))
    client_name: Mapped[str] = mapped_column(String(200))
    period: Mapped[str | None] = mapped_column(String(7))
    issue_date: Mapped[dt.date] = mapped_column(Date)
    month: Mapped[str] = mapped_column(String(7), index=True)  # issue month, the list's filter
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    net_total: Mapped[Decimal] = mapped_column(AMOUNT)
    tax_total: Mapped[Decimal] = mapped_column(AMOUNT)
    gross_total: Mapped[Decimal] = mapped_column(AMOUNT)
    credited_total: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal("0.00"))
    original_number: Mapped[str | None] = mapped_column(String(32), index=True)
    run_id: Mapped[str | None] = mapped_column(String(36), index=True)
    body: Mapped[str] = mapped_column(Text)  # the shared Document as JSON
    reason: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(String(200))
    generation_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    __table_args__ = (
        # A production run bills a client once per period: the database says no to a second one.
        Index(
            "uq_invoice_client_period",
            "client_id",
            "period",
            unique=True,
            postgresql_where=text("type = 'invoice'"),
            sqlite_where=text("type = 'invoice'"),
        ),
    )


class DeliveryRow(Base):
    """What notification told us about e-mails of a document (delivered / failed)."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    number: Mapped[str] = mapped_column(String(32), index=True)
    request_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))  # delivered | failed
    to: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("number", "request_id", "status"),)


class BillingRunRow(LeaseColumns, Base):  # leased: ledgerline_shared/job_lease.py
    __tablename__ = "billing_runs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    period: Mapped[str] = mapped_column(String(7))
    mode: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12), default="queued")
    client_ids: Mapped[list[str] | None] = mapped_column(JSON)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    documents: Mapped[list[str]] = mapped_column(JSON, default=list)
    errors: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    report: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    requested_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class BillingRunApprovalRow(Base):
    """A second person's approval of a preview run (issue 15), kept for good, valid or not."""

    __tablename__ = "billing_run_approvals"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    run_id: Mapped[str] = mapped_column(ForeignKey("billing_runs.id"), index=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    approved_by: Mapped[str] = mapped_column(String(200))  # the token's sub
    approver_name: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    comment: Mapped[str | None] = mapped_column(Text)
    acknowledged_flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    flag_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    previews: Mapped[int] = mapped_column(Integer, default=0)
    previews_hash: Mapped[str] = mapped_column(String(64))
    inputs: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # the billing inputs' fingerprint
    production_run_id: Mapped[str | None] = mapped_column(String(36))  # the last production run it admitted
