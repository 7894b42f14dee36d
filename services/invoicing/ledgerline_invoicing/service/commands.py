"""What invoicing's use cases are asked to do: the service layer's own input types.

Entrypoints translate into these: an HTTP body (entrypoints/schemas.py), a Kafka event. A command
carries checked shapes (the schemas did that); the business rules run in the use case and domain/.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


# -- the client folder ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Address:
    line1: str
    postcode: str
    city: str
    country: str
    line2: str | None = None


@dataclass(frozen=True)
class CreateClient:
    name: str
    address: Address
    code: str | None = None  # None: the next free "C00042"
    vat_id: str | None = None
    siren: str | None = None
    language: str = "fr"
    currency: str = "EUR"
    payment_terms_days: int = 30
    rate_plan_code: str | None = None


@dataclass(frozen=True)
class UpdateClient:
    """Only the fields given change (`changes`: field → value; "address" → Address)."""

    client_id: str
    changes: Mapping[str, Any]


@dataclass(frozen=True)
class AddContact:
    client_id: str
    name: str
    email: str
    invoice_recipient: bool = False


@dataclass(frozen=True)
class UpdateContact:
    contact_id: str
    changes: Mapping[str, Any]


@dataclass(frozen=True)
class CreateArticle:
    code: str
    label: str
    kind: str
    unit_price: Decimal
    vat_rate: Decimal
    accounting_account: str


@dataclass(frozen=True)
class UpdateArticle:
    code: str
    changes: Mapping[str, Any]


@dataclass(frozen=True)
class AddSubscription:
    client_id: str
    article_code: str
    quantity: Decimal
    start_date: dt.date
    unit_price: Decimal | None = None
    end_date: dt.date | None = None


@dataclass(frozen=True)
class AddOneTimeItem:
    client_id: str
    article_code: str
    quantity: Decimal
    unit_price: Decimal | None = None
    label: str | None = None
    repeat: str = "once"


@dataclass(frozen=True)
class RateRuleSpec:
    prefix: str
    label: str
    kind: str
    unit_price: Decimal
    connection_fee: Decimal = Decimal("0")
    increment: str = "60/60"


@dataclass(frozen=True)
class CreateRatePlan:
    code: str
    rules: tuple[RateRuleSpec, ...]


# -- billing runs ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class RequestBillingRun:
    period: str
    mode: str  # preview | production
    client_ids: list[str] | None = None
    requested_by: str | None = None


@dataclass(frozen=True)
class ApproveRun:
    run_id: str
    approver: str  # the token's subject
    approver_name: str | None
    comment: str | None
    acknowledged: tuple[str, ...] = ()


# -- corrections ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CreditLine:
    """A line to credit (satisfies domain/credit.py's CreditLineLike)."""

    label: str
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal
    article_code: str | None = None


@dataclass(frozen=True)
class CancelInvoice:
    """Method A: credit whatever remains of the invoice; it becomes cancelled."""

    number: str
    reason: str | None
    requested_by: str
    issue_date: dt.date | None = None  # today


@dataclass(frozen=True)
class CreditPartially:
    number: str
    reason: str | None
    lines: tuple[CreditLine, ...]
    requested_by: str
    issue_date: dt.date | None = None


@dataclass(frozen=True)
class ApplyCreditRequest:
    """creditnote.requested: without lines a cancellation, with lines a partial credit; applied
    once per request_id."""

    request_id: str
    invoice_number: str
    reason: str | None
    lines: tuple[CreditLine, ...] | None
    requested_by: str


@dataclass(frozen=True)
class ProformaLine:
    label: str
    quantity: Decimal
    unit_price: Decimal  # may be negative: method B
    vat_rate: Decimal
    article_code: str | None = None


@dataclass(frozen=True)
class CreateProforma:
    client_id: str
    lines: tuple[ProformaLine, ...]
    requested_by: str
    reason: str | None = None
    issue_date: dt.date | None = None


# -- documents ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RequestSend:
    """E-mail an issued document (or a proforma) to the client's invoice recipients."""

    number: str
    requested_by: str
    proforma: bool = False  # addressed as a proforma: only a proforma's number is accepted


@dataclass(frozen=True)
class Regenerate:
    number: str
    requested_by: str


@dataclass(frozen=True)
class RecordDelivery:
    number: str
    request_id: str
    status: str  # delivered | failed
    to: tuple[str, ...]
    at: dt.datetime
    detail: str | None = None


@dataclass(frozen=True)
class ListDocuments:
    month: str
    type_: str | None = None
    status: str | None = None
    q: str | None = None
    sort: str = "number"
    page: int = 1
    page_size: int = 50
    client_ids: frozenset[str] | None = field(default=None)  # a portal user's clients only
