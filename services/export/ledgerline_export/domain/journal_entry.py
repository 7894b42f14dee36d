"""Turning an issued document into one balanced sales-journal entry (the basis of every accounting file).

An invoice debits the client (receivable account, client code as auxiliary account) with the gross,
credits each revenue account (the lines' accounting_account) with its nets, and credits the collected-VAT
account of each rate with that rate's VAT. A credit note is the mirror image (debit and credit swapped).
A line amount that comes out negative (a credit-note article on an invoice) is written on the other side,
positive: accounting files do not carry negative debits. Proformas are not accounting documents
(they are requests for payment, not sales): they produce no entry and are counted as excluded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple

from ledgerline_export.domain.issued_document import IssuedDocument, IssuedType

ZERO = Decimal("0.00")

DEFAULT_VAT_ACCOUNTS: Mapping[Decimal, str] = MappingProxyType(
    {
        Decimal("20"): "445711",
        Decimal("10"): "445712",
        Decimal("5.5"): "445713",
        Decimal("2.1"): "445714",
    }
)


class UnbalancedEntry(ValueError):
    """The document's lines and VAT do not add up to its gross: exporting it would corrupt the ledger."""


class UnmappedVatRate(ValueError):
    """A VAT rate with tax but no collected-VAT account configured."""


@dataclass(frozen=True)
class AccountPlan:
    """Configurable chart-of-accounts mapping (French PCG defaults)."""

    journal_code: str = "VT"
    journal_label: str = "Ventes"
    receivable_account: str = "411000"
    receivable_label: str = "Clients"
    default_revenue_account: str = "706000"
    revenue_labels: Mapping[str, str] = field(default_factory=dict)
    vat_accounts: Mapping[Decimal, str] = field(default_factory=lambda: dict(DEFAULT_VAT_ACCOUNTS))
    accounting_currency: str = "EUR"

    def revenue_label(self, account: str) -> str:
        return self.revenue_labels.get(account, "Prestations de services")

    def vat_account(self, rate: Decimal) -> str:
        # Decimal keys hash by value, so equal rates (20 and 20.00) are found without normalising each.
        account = self.vat_accounts.get(rate)
        if account is not None:
            return account
        for known, account in self.vat_accounts.items():
            if known.normalize() == rate.normalize():
                return account
        raise UnmappedVatRate(f"no collected-VAT account configured for rate {rate}")


class JournalLine(NamedTuple):
    """One movement. A NamedTuple, not a frozen dataclass: as immutable, and built several times per
    document on a million-line export, where a frozen dataclass's __init__ is 3-4 times slower."""

    account: str
    account_label: str
    auxiliary_account: str  # the client code on the receivable line, "" elsewhere
    auxiliary_label: str
    debit: Decimal
    credit: Decimal
    vat_rate: Decimal | None = None  # set on VAT lines
    receivable: bool = False  # the client's line


class JournalEntry(NamedTuple):
    """A document's entry; `debit` and `credit` are the sums of its lines, added once when it is built."""

    document: IssuedDocument
    lines: tuple[JournalLine, ...]
    debit: Decimal
    credit: Decimal

    @property
    def date(self) -> dt.date:
        return self.document.issue_date

    @property
    def label(self) -> str:
        kind = "Avoir" if self.document.type is IssuedType.CREDIT_NOTE else "Facture"
        return f"{kind} {self.document.number} {self.document.client_name}"


def _sided(amount: Decimal) -> tuple[Decimal, Decimal]:
    """A credit-natured signed amount as (debit, credit), both non-negative."""
    if not amount:
        return ZERO, ZERO  # never "-0.00"
    return (ZERO, amount) if amount >= 0 else (-amount, ZERO)


@lru_cache(maxsize=256)  # a handful of rates; Decimal keys equal by value share one label
def _vat_label(rate: Decimal) -> str:
    return f"TVA collectée {format(rate.normalize(), 'f')}%"


def journal_entry(doc: IssuedDocument, plan: AccountPlan) -> JournalEntry | None:
    """The document's entry; None for a proforma or a document whose every amount is zero."""
    if not doc.is_accounting_document:
        return None
    # A credit note reverses every amount. -x and +x give what x * -1 and x * 1 give (the context's
    # rounding, and zero read as no amount by _sided) without converting the sign for each amount.
    credit_note = doc.type is IssuedType.CREDIT_NOTE
    default_account = plan.default_revenue_account
    revenue: dict[str, Decimal] = {}
    for line in doc.lines:
        account = line.accounting_account or default_account
        revenue[account] = revenue.get(account, ZERO) + line.net
    # Receivable: credit-natured amount is -gross (a debit for an invoice).
    # The client's line is always there (IIF needs its TRNS even when the gross nets to zero).
    debit, credit = _sided(+doc.gross if credit_note else -doc.gross)
    lines = [
        JournalLine(
            plan.receivable_account,
            plan.receivable_label,
            doc.client_code,
            doc.client_name,
            debit,
            credit,
            None,  # vat_rate
            True,  # receivable (positional: keywords make the NamedTuple's __new__ slower)
        )
    ]
    # Totals in line order from ZERO, as sum() would: the same Decimal (value and exponent) every time.
    total_debit = ZERO + debit
    total_credit = ZERO + credit
    for account, net in revenue.items():
        debit, credit = _sided(-net if credit_note else +net)
        if debit or credit:
            lines.append(JournalLine(account, plan.revenue_label(account), "", "", debit, credit))
            total_debit += debit
            total_credit += credit
    for vat in doc.vat:
        if not vat.tax:
            continue
        debit, credit = _sided(-vat.tax if credit_note else +vat.tax)
        lines.append(
            JournalLine(plan.vat_account(vat.rate), _vat_label(vat.rate), "", "", debit, credit, vat.rate)
        )
        total_debit += debit
        total_credit += credit
    if not (total_debit or total_credit):
        return None  # every line is zero (debit and credit are never negative)
    if total_debit != total_credit:
        raise UnbalancedEntry(
            f"{doc.number}: debit {total_debit} != credit {total_credit} (lines + VAT != gross)"
        )
    return JournalEntry(doc, tuple(lines), total_debit, total_credit)
