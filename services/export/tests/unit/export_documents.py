"""Realistic issued documents for the export tests (unit and service), built like invoicing does."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from decimal import Decimal

from ledgerline_shared.contracts.document import (
    Address,
    Document,
    DocumentLine,
    DocumentReference,
    DocumentType,
    LineKind,
    Party,
    Recipient,
    TaxSubtotal,
    Totals,
)
from ledgerline_shared.contracts.money import round_cents

SELLER = Party(
    name="Ledgerline Télécom SAS",
    address=Address(line1="1 rue de la Paix", postcode="75002", city="Paris", country="FR"),
    vat_id="FR32123456789",
    siren="123456789",
)

# (label, quantity, unit price, vat rate, accounting account)
LineSpec = tuple[str, str, str, str, str]


def _mailbox(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum()) or "client"


def make_document(
    number: str,
    kind: DocumentType = DocumentType.INVOICE,
    issue_date: dt.date = dt.date(2026, 1, 31),
    client_code: str = "C0001",
    client_name: str = "Boulangerie Martin",
    lines: list[LineSpec] | None = None,
    original: str | None = None,
    currency: str = "EUR",
) -> Document:
    specs = lines or [
        ("Forfait mobile 20 Go", "3", "19.99", "20.00", "706100"),
        ("Communications", "1", "12.3456", "20.00", "706200"),
    ]
    doc_lines = []
    by_rate: dict[Decimal, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for i, (label, qty, price, rate, account) in enumerate(specs, start=1):
        net = round_cents(Decimal(qty) * Decimal(price))
        by_rate[Decimal(rate)] += net
        doc_lines.append(
            DocumentLine(
                line_no=i,
                label=label,
                kind=LineKind.RECURRING,
                quantity=Decimal(qty),
                unit_price=Decimal(price),
                net_amount=net,
                vat_rate=Decimal(rate),
                accounting_account=account,
            )
        )
    breakdown = [
        TaxSubtotal(vat_rate=rate, taxable_amount=base, tax_amount=round_cents(base * rate / 100))
        for rate, base in by_rate.items()
    ]
    net_total = sum((t.taxable_amount for t in breakdown), Decimal("0.00"))
    tax_total = sum((t.tax_amount for t in breakdown), Decimal("0.00"))
    refs = [DocumentReference(number=original, issue_date=issue_date)] if original else []
    return Document(
        id=uuid.uuid4(),
        number=number,
        type=kind,
        issue_date=issue_date,
        due_date=issue_date + dt.timedelta(days=30),
        period=issue_date.strftime("%Y-%m"),
        currency=currency,
        seller=SELLER,
        buyer=Party(
            name=client_name,
            address=Address(line1="12 avenue Foch", postcode="69006", city="Lyon", country="FR"),
            client_id=f"id-{client_code}",
            code=client_code,
            recipients=[Recipient(name="Compta", email=f"{_mailbox(client_code)}@example.test")],
        ),
        lines=doc_lines,
        tax_breakdown=breakdown,
        totals=Totals(
            net_total=net_total,
            tax_total=tax_total,
            gross_total=net_total + tax_total,
            amount_due=net_total + tax_total,
        ),
        references=refs,
        reason="Erreur de facturation" if kind is DocumentType.CREDIT_NOTE else None,
    )


# The invoices both the unit tests' month and the service tests' January hold (one definition each).


def four_rates_invoice() -> Document:
    """Hôtel du Lac's invoice at four VAT rates (20, 10, 5.5 and 2.1 %)."""
    return make_document(
        "F2026-000002",
        client_code="C0002",
        client_name="Hôtel du Lac",
        issue_date=dt.date(2026, 1, 15),
        lines=[
            ("Fibre pro", "1", "59.90", "20.00", "706100"),
            ("Restauration séminaire", "7", "13.33", "10.00", "706300"),
            ("Livres", "3", "7.77", "5.50", "707000"),
            ("Presse", "2", "1.49", "2.10", "707000"),
        ],
    )


HOSTILE_CLIENT = '=HYPERLINK("http://x")'  # a client name a spreadsheet would run as a formula
NEGATIVE_LINE_INVOICE_LINES: list[LineSpec] = [
    ("Forfait", "1", "100.00", "20.00", "706100"),
    ("Avoir geste commercial", "1", "-30.00", "20.00", "706100"),
]


def negative_line_invoice() -> Document:
    """An invoice with a credit-note article line (negative), to a client named like a formula."""
    return make_document(
        "F2026-000003",
        client_code="C0003",
        client_name=HOSTILE_CLIENT,
        issue_date=dt.date(2026, 1, 20),
        lines=NEGATIVE_LINE_INVOICE_LINES,
    )
