"""The one document model every service shares (spec section 9, "the document").

Invoicing builds it; rendering turns it into PDF/UBL/JSON; export keeps it in its read model;
notification reads its buyer's recipients. Amounts are Decimal, serialized as strings.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ledgerline_shared.contracts.mail_address import check_address, check_display_name
from ledgerline_shared.contracts.money import Dec, Money

# The most lines a proforma or credit note may be asked for (issue 11 item 2): a document's event
# then stays far below Kafka's 1 MiB message limit, and its PDF a readable size. Invoices from a
# billing run carry one line per subscription, item and VAT rate of usage, far fewer.
MAX_DOCUMENT_LINES = 1000


class DocumentType(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    PROFORMA = "proforma"
    PREVIEW = "preview"


class LineKind(StrEnum):
    RECURRING = "recurring"
    ONE_TIME = "one_time"
    USAGE = "usage"
    CREDIT_NOTE = "credit_note"
    MANUAL = "manual"


class Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(Contract):
    line1: str
    line2: str | None = None
    postcode: str
    city: str
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")


class Recipient(Contract):
    name: str
    email: str

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        return check_display_name(value)

    @field_validator("email")
    @classmethod
    def _safe_address(cls, value: str) -> str:
        return check_address(value)


class Party(Contract):
    """Seller or buyer as they stood when the document was built (a snapshot)."""

    name: str
    address: Address
    vat_id: str | None = None
    siren: str | None = None
    client_id: str | None = None
    code: str | None = None
    email: str | None = None
    # Buyer only: the contacts flagged invoice_recipient when the event was written.
    recipients: list[Recipient] = Field(default_factory=list)


class Proration(Contract):
    """A subscription line covering part of its month: how its unit price was reached.

    unit_price = monthly_price × days / period_days (cumulative rounding, see invoicing's
    domain/proration.py), so the document can print "49,90 € × 15/30 days" for a clerk to check.
    """

    monthly_price: Dec
    days: int = Field(ge=1, le=31)
    period_days: int = Field(ge=1, le=31)


UsageKind = Literal["voice", "sms", "data"]


class DocumentLine(Contract):
    line_no: int
    label: str
    kind: LineKind = LineKind.MANUAL
    article_code: str | None = None
    quantity: Dec
    unit: str = "C62"  # UN/ECE rec 20: C62 = one (unit), MON = month, MIN = minute
    unit_price: Dec
    net_amount: Money
    vat_rate: Dec
    accounting_account: str | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    proration: Proration | None = None  # a prorated subscription only
    # A usage line: what its quantity counts (voice minutes or, for a connection-fee line, calls;
    # messages; megabytes), so the document can print the unit next to the quantity.
    usage_kind: UsageKind | None = None


class TaxSubtotal(Contract):
    vat_rate: Dec
    category: str = "S"  # UNCL5305: S standard, Z zero-rated, E exempt
    taxable_amount: Money
    tax_amount: Money


class Totals(Contract):
    net_total: Money  # BT-106 = BT-109 (no document-level allowances)
    tax_total: Money  # BT-110
    gross_total: Money  # BT-112
    amount_due: Money  # BT-115 (no prepayment)


class DocumentReference(Contract):
    """For a credit note: the invoice it corrects (UBL BillingReference)."""

    number: str
    issue_date: dt.date


class ConsumptionLine(Contract):
    """One destination of a telecom invoice's consumption summary."""

    label: str
    kind: str  # voice | sms | data
    count: int
    duration_s: int = 0
    units: Dec | None = None
    amount: Money


class PaymentDetails(Contract):
    """How to pay: the seller's account (from the branding of the rendering) and the reference to
    quote (BT-83, the document number), so the e-mail and the JSON show what the PDF prints."""

    iban: str
    bic: str
    bank_name: str | None = None
    reference: str | None = None  # previews have none


class InvoiceStatus(StrEnum):
    """Where an issued invoice stands with its credit notes. Invoicing decides it; others show it."""

    ISSUED = "issued"
    PARTIALLY_CREDITED = "partially_credited"
    CREDITED = "credited"
    CANCELLED = "cancelled"


class Document(Contract):
    id: UUID
    number: str | None = None  # previews carry no number
    type: DocumentType
    issue_date: dt.date
    due_date: dt.date | None = None
    period: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    language: str = Field(default="fr", pattern=r"^(fr|en)$")
    seller: Party
    buyer: Party
    lines: list[DocumentLine]
    tax_breakdown: list[TaxSubtotal]
    totals: Totals
    references: list[DocumentReference] = Field(default_factory=list)
    consumption: list[ConsumptionLine] = Field(default_factory=list)
    payment_terms_days: int = 30
    payment: PaymentDetails | None = None  # filled by rendering from its branding
    reason: str | None = None  # credit notes: why; kept with who asked
    requested_by: str | None = None
    run_id: UUID | None = None
    # Credit notes only: the credited invoice's status once this note counts, and the gross credited on
    # it so far, this note included. Invoicing decides both; export shows them and never recomputes.
    # The credited total only grows, so of two notes read out of order the larger total is the newer.
    credited_invoice_status: InvoiceStatus | None = None
    credited_invoice_total: Money | None = None

    @property
    def key(self) -> str:
        """What identifies it on the wire and in stores: its number, or its id for a preview."""
        return self.number or str(self.id)
