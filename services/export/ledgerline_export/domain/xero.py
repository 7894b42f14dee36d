"""Xero sales-invoice import CSV (the columns of Xero's SalesInvoiceTemplate): one row per document line.

Decisions:
- Credit notes go in the same file as *negative quantities* (Xero imports a row group whose total is
  negative as a credit note); `Reference` then carries the original invoice number.
- Quantity and UnitAmount are the line's own when quantity x unit price rounds to the line net; otherwise
  (prorated lines) Quantity 1 and UnitAmount = the net, so Xero's line amounts always sum to our net.
- TaxAmount: VAT is computed per rate on the sum of the nets, so each rate's VAT is spread over its
  lines (rounded per line, the rounding remainder on the largest line): per-rate sums equal the document.
- TaxType comes from `tax_types` (rate -> the Xero organisation's tax rate name); default "TVA <rate>%".
- AccountCode: `account_codes` maps the plan's revenue account to the Xero code (default: unchanged).
- Dates in `date_format` (default day/month/year, as a European Xero organisation reads them).
- Proformas are excluded like every accounting export.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal

from ledgerline_export.domain.cells import csv_field
from ledgerline_export.domain.issued_document import IssuedDocument, IssuedLine
from ledgerline_export.domain.journal_entry import AccountPlan, JournalEntry
from ledgerline_export.domain.spreadsheet_safety import neutralise

XERO_COLUMNS: tuple[str, ...] = (
    "*ContactName",
    "EmailAddress",
    "POAddressLine1",
    "POAddressLine2",
    "POAddressLine3",
    "POAddressLine4",
    "POCity",
    "PORegion",
    "POPostalCode",
    "POCountry",
    "*InvoiceNumber",
    "Reference",
    "*InvoiceDate",
    "*DueDate",
    "Total",
    "InventoryItemCode",
    "*Description",
    "*Quantity",
    "*UnitAmount",
    "Discount",
    "*AccountCode",
    "*TaxType",
    "TaxAmount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
    "Currency",
    "BrandingTheme",
)
XERO_REQUIRED = tuple(c for c in XERO_COLUMNS if c.startswith("*"))
CENT = Decimal("0.01")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")


def line_taxes(doc: IssuedDocument) -> list[Decimal]:
    """Each line's share of its rate's VAT; shares of a rate sum exactly to the document's VAT of it."""
    taxes = [_cents(line.net * line.vat_rate / 100) for line in doc.lines]
    for vat in doc.vat:
        idx = [i for i, line in enumerate(doc.lines) if line.vat_rate == vat.rate]
        if not idx:
            continue
        gap = vat.tax - sum((taxes[i] for i in idx), Decimal("0.00"))
        if gap:
            largest = max(idx, key=lambda i: abs(doc.lines[i].net))
            taxes[largest] += gap
    return taxes


class XeroFormat:
    name = "xero"
    encoding = "utf-8"
    newline = "\r\n"
    accounting_currency_only = False

    def __init__(
        self,
        plan: AccountPlan,
        tax_types: Mapping[Decimal, str] | None = None,
        account_codes: Mapping[str, str] | None = None,
        date_format: str = "%d/%m/%Y",
    ) -> None:
        self.plan = plan
        self.tax_types = {k.normalize(): v for k, v in (tax_types or {}).items()}
        self.account_codes = dict(account_codes or {})
        self.date_format = date_format

    def preamble(self) -> Iterable[str]:
        return [",".join(XERO_COLUMNS)]

    def tax_type(self, rate: Decimal) -> str:
        return self.tax_types.get(rate.normalize(), f"TVA {format(rate.normalize(), 'f')}%")

    def _quantity_and_unit(self, line: IssuedLine, sign: int) -> tuple[Decimal, Decimal]:
        if _cents(line.quantity * line.unit_price) == line.net:
            return line.quantity * sign, line.unit_price
        return Decimal(sign), line.net

    def entry_lines(self, entry: JournalEntry) -> Iterator[str]:
        doc = entry.document
        sign = doc.sign

        def text(value: str | None) -> str:
            return csv_field(neutralise(value or ""))

        address = doc.client_address
        head = [
            text(doc.client_name),
            text(doc.client_email),
            text(address.line1 if address else ""),
            text(address.line2 if address else ""),
            "",
            "",
            text(address.city if address else ""),
            "",
            text(address.postcode if address else ""),
            text(address.country if address else ""),
            text(doc.number),
            text(doc.original_number),
            doc.issue_date.strftime(self.date_format),
            (doc.due_date or doc.issue_date).strftime(self.date_format),
            format(doc.signed_gross, "f"),
            "",
        ]
        taxes = line_taxes(doc)
        for line, tax in zip(doc.lines, taxes, strict=True):
            quantity, unit = self._quantity_and_unit(line, sign)
            account = line.accounting_account or self.plan.default_revenue_account
            yield ",".join(
                (
                    *head,
                    text(line.label),
                    _num(quantity),
                    format(unit, "f"),
                    "",
                    text(self.account_codes.get(account, account)),
                    text(self.tax_type(line.vat_rate)),
                    format(tax * sign, "f"),
                    "",
                    "",
                    "",
                    "",
                    doc.currency,
                    "",
                )
            )
