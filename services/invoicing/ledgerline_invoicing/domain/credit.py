"""Credit notes and cancellations of an issued invoice (the user guide's method A, and partial
credits through the API). Everything here is a check or a computation; nothing is stored.

What remains creditable is tracked per VAT rate, as a taxable amount and a tax amount:
    remaining(rate) = invoice(rate) - sum of earlier credit notes(rate)
A partial credit note is priced like any document (net per line, tax per rate on the sum of its
nets) and is refused when, for any rate, its net or its tax exceeds what remains at that rate.
So the credited total can never pass the invoice's total, rate by rate and in all.

Credit note amounts are positive: the document type says it is a credit (as in a UBL CreditNote).
(A cancellation mirrors the invoice's lines, so a credit_note-article line of the invoice, negative
there, stays negative on the note; the note's totals are the invoice's.)

Cancellation (method A) credits the whole remaining amount and leaves the invoice `cancelled`:
- nothing credited before: the credit note repeats the invoice's lines exactly (same labels,
  quantities, prices, accounts), hence the same breakdown and totals;
- partly credited before: one line per VAT rate, quantity 1, unit price = the remaining taxable
  amount of that rate, and the remaining tax of that rate as its tax, so invoice minus all its
  credit notes is exactly zero on every rate. That tax may differ by a cent or so from
  rate x base, because the earlier notes each rounded their own tax; EN 16931's BR-CO-17
  validation tolerates a difference under one currency unit, and the balance being exact is
  what the accounts need. Its account is the one of the rate's largest invoice line.

Statuses of an invoice: issued -> partially_credited -> credited (by partial credits reaching
the total), and issued | partially_credited -> cancelled. A credited or cancelled invoice
accepts no further credit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from ledgerline_invoicing.domain.errors import CreditRefused, DomainError
from ledgerline_invoicing.domain.lines import DraftLine, from_document_line, to_document_lines
from ledgerline_invoicing.domain.money import check_vat_rate, document_totals, tax_breakdown, vat_category
from ledgerline_shared.contracts.document import (
    Document,
    DocumentLine,
    DocumentReference,
    DocumentType,
    InvoiceStatus,  # one enum for every service: invoicing decides the status, others show it
    LineKind,
    TaxSubtotal,
    Totals,
)

ZERO = Decimal("0.00")


class CreditLineLike(Protocol):
    """A line to credit as the API or `creditnote.requested` gives it (shared CreditLine)."""

    @property
    def label(self) -> str: ...

    @property
    def quantity(self) -> Decimal: ...

    @property
    def unit_price(self) -> Decimal: ...

    @property
    def vat_rate(self) -> Decimal: ...

    @property
    def article_code(self) -> str | None: ...


@dataclass(frozen=True)
class RateBalance:
    """What is left to credit at one VAT rate."""

    vat_rate: Decimal
    net: Decimal
    tax: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax


@dataclass(frozen=True)
class CreditPlan:
    """A checked credit note, ready to be numbered and issued, and the invoice's next status."""

    lines: tuple[DraftLine, ...]
    tax_subtotals: tuple[TaxSubtotal, ...]
    totals: Totals
    reason: str
    new_status: InvoiceStatus
    cancellation: bool
    remaining_after: Decimal = field(default=ZERO)
    credited_before: Decimal = field(default=ZERO)  # gross of the invoice's earlier credit notes

    @property
    def credited_after(self) -> Decimal:
        """Gross credited on the invoice once this note counts."""
        return self.credited_before + self.totals.gross_total


def remaining_creditable(invoice_gross: Decimal, credited_gross: Decimal) -> Decimal:
    """The credit-note ceiling: the invoice's gross minus what its credit notes already took,
    never below zero. The API shows it, and a partial credit above it is refused."""
    return max(invoice_gross - credited_gross, ZERO)


def credited_gross(credit_notes: Iterable[Document]) -> Decimal:
    """The gross total of an invoice's credit notes."""
    return sum((note.totals.gross_total for note in credit_notes), ZERO)


def remaining_by_rate(
    invoice_breakdown: Sequence[TaxSubtotal], earlier_breakdowns: Iterable[Sequence[TaxSubtotal]]
) -> list[RateBalance]:
    """Per VAT rate, the invoice's taxable and tax amounts minus those already credited."""
    net: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    tax: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for subtotal in invoice_breakdown:
        net[subtotal.vat_rate] += subtotal.taxable_amount
        tax[subtotal.vat_rate] += subtotal.tax_amount
    for breakdown in earlier_breakdowns:
        for subtotal in breakdown:
            net[subtotal.vat_rate] -= subtotal.taxable_amount
            tax[subtotal.vat_rate] -= subtotal.tax_amount
    return [RateBalance(rate, net[rate], tax[rate]) for rate in sorted(net, reverse=True)]


def status_after_credit(remaining_gross_after: Decimal) -> InvoiceStatus:
    """After a partial credit: credited once nothing remains, partially credited otherwise."""
    return InvoiceStatus.CREDITED if remaining_gross_after <= 0 else InvoiceStatus.PARTIALLY_CREDITED


def check_creditable(invoice: Document, status: InvoiceStatus, action: str = "credit") -> None:
    """Refuse what is not an issued, still open invoice: credit notes, proformas, previews,
    unnumbered documents, cancelled or fully credited invoices."""
    if invoice.type is DocumentType.CREDIT_NOTE:
        raise CreditRefused("number", f"a credit note cannot be {action}ed; only an invoice can")
    if invoice.type is DocumentType.PROFORMA:
        raise CreditRefused(
            "number", f"a proforma cannot be {action}ed; issue another proforma to correct it"
        )
    if invoice.type is DocumentType.PREVIEW or invoice.number is None:
        raise CreditRefused("number", f"a preview has not been issued and cannot be {action}ed")
    if status is InvoiceStatus.CANCELLED:
        raise CreditRefused("number", f"invoice {invoice.number} is already cancelled")
    if status is InvoiceStatus.CREDITED:
        raise CreditRefused("number", f"invoice {invoice.number} is already fully credited")


def check_reason(reason: str | None) -> str:
    if reason is None or not reason.strip():
        raise CreditRefused("reason", "a reason is required")
    return reason.strip()


def plan_partial_credit(
    invoice: Document,
    status: InvoiceStatus,
    earlier_credit_notes: Sequence[Document],
    reason: str | None,
    lines: Sequence[CreditLineLike],
) -> CreditPlan:
    """Check a partial credit note of the given positive lines and price it."""
    check_creditable(invoice, status)
    text = check_reason(reason)
    _check_earlier(invoice, earlier_credit_notes)
    if not lines:
        raise CreditRefused("lines", "a partial credit needs at least one line (or cancel the invoice)")
    balances = {b.vat_rate: b for b in _balances(invoice, earlier_credit_notes)}
    drafts = [_credit_line(index, line, invoice, balances) for index, line in enumerate(lines)]
    subtotals = tax_breakdown(drafts)
    totals = document_totals(drafts, subtotals)

    credited = credited_gross(earlier_credit_notes)
    remaining = remaining_creditable(invoice.totals.gross_total, credited)
    if totals.gross_total > remaining:
        raise CreditRefused(
            "lines", f"credit of {totals.gross_total} exceeds the remaining creditable amount {remaining}"
        )
    for subtotal in subtotals:
        balance = balances[subtotal.vat_rate]
        if subtotal.taxable_amount > balance.net or subtotal.tax_amount > balance.tax:
            raise CreditRefused(
                "lines",
                f"at VAT {subtotal.vat_rate}% the credit ({subtotal.taxable_amount} + tax "
                f"{subtotal.tax_amount}) exceeds what remains ({balance.net} + tax {balance.tax})",
            )
    after = remaining - totals.gross_total
    return CreditPlan(
        lines=tuple(drafts),
        tax_subtotals=tuple(subtotals),
        totals=totals,
        reason=text,
        new_status=status_after_credit(after),
        cancellation=False,
        remaining_after=after,
        credited_before=credited,
    )


def plan_cancellation(
    invoice: Document,
    status: InvoiceStatus,
    earlier_credit_notes: Sequence[Document],
    reason: str | None,
    balance_label: str = "Balance of invoice {number} at VAT {rate}%",
) -> CreditPlan:
    """Method A: a credit note for the whole remaining amount; the invoice becomes cancelled."""
    check_creditable(invoice, status, action="cancel")
    text = check_reason(reason)
    _check_earlier(invoice, earlier_credit_notes)
    if not earlier_credit_notes:
        drafts = [from_document_line(line) for line in invoice.lines]
        subtotals = list(invoice.tax_breakdown)
    else:
        balances = [b for b in _balances(invoice, earlier_credit_notes) if b.net != 0 or b.tax != 0]
        if not balances:
            raise CreditRefused("number", f"nothing remains to credit on invoice {invoice.number}")
        drafts = [
            DraftLine(
                label=balance_label.format(number=invoice.number, rate=b.vat_rate),
                quantity=Decimal(1),
                unit_price=b.net,
                vat_rate=b.vat_rate,
                kind=LineKind.MANUAL,
                accounting_account=_account_for_rate(invoice.lines, b.vat_rate),
            )
            for b in balances
        ]
        subtotals = [
            TaxSubtotal(
                vat_rate=b.vat_rate, category=vat_category(b.vat_rate), taxable_amount=b.net, tax_amount=b.tax
            )
            for b in balances
        ]
    return CreditPlan(
        lines=tuple(drafts),
        tax_subtotals=tuple(subtotals),
        totals=document_totals(drafts, subtotals),
        reason=text,
        new_status=InvoiceStatus.CANCELLED,
        cancellation=True,
        remaining_after=ZERO,
        credited_before=credited_gross(earlier_credit_notes),
    )


def credit_note_document(
    invoice: Document,
    plan: CreditPlan,
    *,
    issue_date: dt.date,
    number: str | None = None,
    document_id: uuid.UUID | None = None,
    requested_by: str | None = None,
) -> Document:
    """The credit note as the shared Document: parties, currency and language of the invoice,
    a reference to it (number and date), the reason; nothing is due on a credit note."""
    if invoice.number is None:
        raise CreditRefused("number", "the invoice has no number")
    return Document(
        id=document_id or uuid.uuid4(),
        number=number,
        type=DocumentType.CREDIT_NOTE,
        issue_date=issue_date,
        due_date=None,
        period=invoice.period,
        currency=invoice.currency,
        language=invoice.language,
        seller=invoice.seller,
        buyer=invoice.buyer,
        lines=to_document_lines(plan.lines),
        tax_breakdown=list(plan.tax_subtotals),
        totals=plan.totals,
        references=[DocumentReference(number=invoice.number, issue_date=invoice.issue_date)],
        payment_terms_days=invoice.payment_terms_days,
        reason=plan.reason,
        requested_by=requested_by,
        credited_invoice_status=plan.new_status,
        credited_invoice_total=plan.credited_after,
    )


def _balances(invoice: Document, earlier: Sequence[Document]) -> list[RateBalance]:
    return remaining_by_rate(invoice.tax_breakdown, [note.tax_breakdown for note in earlier])


def _check_earlier(invoice: Document, earlier: Sequence[Document]) -> None:
    # A programming error, not a user's: the repository handed the wrong documents.
    for note in earlier:
        refs = {ref.number for ref in note.references}
        if note.type is not DocumentType.CREDIT_NOTE or invoice.number not in refs:
            raise ValueError(f"{note.key} is not a credit note of {invoice.number}")


def _credit_line(
    index: int, line: CreditLineLike, invoice: Document, balances: dict[Decimal, RateBalance]
) -> DraftLine:
    where = f"lines[{index}]"
    if not line.label or not line.label.strip():
        raise CreditRefused(f"{where}.label", "a label is required")
    if not isinstance(line.quantity, Decimal) or not line.quantity.is_finite() or line.quantity <= 0:
        raise CreditRefused(f"{where}.quantity", "the quantity to credit must be positive")
    if not isinstance(line.unit_price, Decimal) or not line.unit_price.is_finite() or line.unit_price <= 0:
        raise CreditRefused(f"{where}.unit_price", "the amount to credit must be positive")
    try:
        rate = check_vat_rate(line.vat_rate, f"{where}.vat_rate")
    except DomainError as error:
        raise CreditRefused(error.field, error.message) from error
    if rate not in balances:
        raise CreditRefused(f"{where}.vat_rate", f"invoice {invoice.number} has no line at VAT {rate}%")
    draft = DraftLine(
        label=line.label.strip(),
        quantity=line.quantity,
        unit_price=line.unit_price,
        vat_rate=rate,
        kind=LineKind.MANUAL,
        article_code=line.article_code,
        accounting_account=_account_for(invoice.lines, line.article_code, rate),
    )
    if draft.net_amount <= 0:
        raise CreditRefused(f"{where}.unit_price", "the amount to credit rounds to zero")
    return draft


def _account_for(lines: Sequence[DocumentLine], article_code: str | None, rate: Decimal) -> str | None:
    for line in lines:
        if article_code is not None and line.article_code == article_code and line.vat_rate == rate:
            return line.accounting_account
    return _account_for_rate(lines, rate)


def _account_for_rate(lines: Sequence[DocumentLine], rate: Decimal) -> str | None:
    same_rate = [line for line in lines if line.vat_rate == rate]
    if not same_rate:
        return None
    return max(same_rate, key=lambda line: abs(line.net_amount)).accounting_account
