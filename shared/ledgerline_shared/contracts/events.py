"""Payloads of every topic in the spec's table (section 9). Document topics carry `Document`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ledgerline_shared.contracts.document import MAX_DOCUMENT_LINES, Document, DocumentType, Recipient
from ledgerline_shared.contracts.money import Dec


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CallKind(StrEnum):
    VOICE = "voice"
    SMS = "sms"
    DATA = "data"


MAX_CALL_SECONDS = 31 * 24 * 3600  # no call record spans more than a month
MAX_CALL_UNITS = Decimal(10**9)


class CallRecord(Event):
    cdr_id: str = Field(min_length=1, max_length=128)
    account: str = Field(min_length=1, max_length=64, description="the client's code")
    started_at: dt.datetime  # ISO 8601 with offset
    kind: CallKind
    # Bounded (found by fuzzing, issue 11 item 11): a record beyond them is refused, never a 500 from the
    # database's integer or numeric columns.
    duration_s: int | None = Field(default=None, ge=0, le=MAX_CALL_SECONDS)
    units: Dec | None = Field(default=None, ge=-MAX_CALL_UNITS, le=MAX_CALL_UNITS)  # SMS count or data MB
    caller: str = Field(default="", max_length=64)
    callee: str = Field(default="", max_length=64)


class UsageRecorded(Event):
    records: list[CallRecord]


class BillingMode(StrEnum):
    PREVIEW = "preview"
    PRODUCTION = "production"


class BillingRunRequested(Event):
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    mode: BillingMode
    client_ids: list[str] | None = None


class CreditLine(Event):
    label: str
    quantity: Dec
    unit_price: Dec
    vat_rate: Dec
    article_code: str | None = None


class CreditNoteRequested(Event):
    invoice_number: str
    reason: str = Field(min_length=1)
    request_id: str = Field(min_length=1)
    lines: list[CreditLine] | None = Field(default=None, max_length=MAX_DOCUMENT_LINES)  # absent: all
    requested_by: str | None = None


class RenderRequested(Event):
    request_id: str
    reason: str
    document: Document


class FileRef(Event):
    path: str  # relative to the document store's root
    sha256: str
    size: int


class RenderedFiles(Event):
    pdf: FileRef
    ubl: FileRef | None = None  # previews carry no e-invoice
    json_: FileRef = Field(alias="json")
    facturx: FileRef | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class DocumentRendered(Event):
    number: str | None  # None for previews
    document_id: UUID
    type: DocumentType
    version: int
    generation_count: int
    files: RenderedFiles
    issue_date: dt.date
    client_id: str | None = None
    language: str = "fr"
    recipients: list[Recipient] = Field(default_factory=list)
    reason: str | None = None


class SendRequested(Event):
    request_id: str
    requested_by: str
    number: str
    # The client's invoice recipients at the moment of the request: a resend goes to the
    # current contacts, not to those of the issue date.
    recipients: list[Recipient] = Field(default_factory=list)
    language: str = "fr"


class DeliveryOutcome(Event):
    request_id: str
    number: str
    to: list[str]
    at: dt.datetime
    smtp_response: str | None = None
    error: str | None = None


class ExportCompleted(Event):
    export_id: str
    requested_by: str  # the requester's e-mail address
    kind: str
    format: str | None = None
    path: str
    rows: int
    report: str = ""
