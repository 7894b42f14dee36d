"""Realistic Documents for the rendering tests: a French operator billing French business clients."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from decimal import Decimal

from ledgerline_rendering.domain.branding import Branding
from ledgerline_shared.contracts.document import (
    Address,
    ConsumptionLine,
    Document,
    DocumentLine,
    DocumentReference,
    DocumentType,
    LineKind,
    Party,
    Proration,
    Recipient,
    TaxSubtotal,
    Totals,
)
from ledgerline_shared.contracts.money import round_cents

SELLER_ADDRESS = Address(line1="12 rue de la Paix", postcode="75002", city="Paris", country="FR")


def make_branding(**overrides: object) -> Branding:
    values: dict[str, object] = {
        "seller_name": "Ledgerline Télécom SAS",
        "seller_address": SELLER_ADDRESS,
        "seller_vat_id": "FR40303265045",
        "seller_siren": "303265045",
        "iban": "FR76 3000 6000 0112 3456 7890 189",
        "bic": "AGRIFRPP",
        "legal_mentions": ("SAS au capital de 100 000 € - RCS Paris 303 265 045",),
    }
    values.update(overrides)
    return Branding(**values)  # type: ignore[arg-type]


def make_buyer(name: str = "Boulangerie Dupont SARL", **overrides: object) -> Party:
    values: dict[str, object] = {
        "name": name,
        "address": Address(
            line1="3 avenue Jean Jaurès", line2="Bâtiment B", postcode="69007", city="Lyon", country="FR"
        ),
        "vat_id": "FR23552100554",
        "siren": "552100554",
        "client_id": "c-0001",
        "code": "CLI-0001",
        "recipients": [Recipient(name="Marie Dupont", email="marie@dupont.example")],
    }
    values.update(overrides)
    return Party(**values)  # type: ignore[arg-type]


def line(
    no: int,
    label: str,
    quantity: str,
    unit_price: str,
    vat_rate: str = "20.00",
    kind: LineKind = LineKind.MANUAL,
    unit: str = "C62",
    **extra: object,
) -> DocumentLine:
    q, p = Decimal(quantity), Decimal(unit_price)
    return DocumentLine(  # type: ignore[arg-type]
        line_no=no,
        label=label,
        kind=kind,
        quantity=q,
        unit=unit,
        unit_price=p,
        net_amount=round_cents(q * p),
        vat_rate=Decimal(vat_rate),
        **extra,
    )


def make_document(
    lines: list[DocumentLine] | None = None,
    *,
    type: DocumentType = DocumentType.INVOICE,
    number: str | None = "F2026-000042",
    language: str = "fr",
    buyer: Party | None = None,
    references: list[DocumentReference] | None = None,
    consumption: list[ConsumptionLine] | None = None,
    reason: str | None = None,
    period: str = "2026-01",
) -> Document:
    """Tax per rate on the sum of the line nets (spec section 4), totals from the breakdown."""
    if lines is None:
        lines = [
            line(1, "Forfait Pro Fibre 1 Gb/s", "1", "49.90", kind=LineKind.RECURRING, unit="MON"),
            line(2, "Communications vers mobiles", "135", "0.0350", kind=LineKind.USAGE, unit="MIN"),
            line(3, "Abonnement presse en ligne", "1", "9.99", vat_rate="5.50"),
        ]
    nets: dict[Decimal, Decimal] = defaultdict(Decimal)
    for item in lines:
        nets[item.vat_rate] += item.net_amount
    breakdown = [
        TaxSubtotal(
            vat_rate=rate,
            category="S" if rate > 0 else "Z",
            taxable_amount=net,
            tax_amount=round_cents(net * rate / 100),
        )
        for rate, net in sorted(nets.items(), reverse=True)
    ]
    net_total = sum((item.net_amount for item in lines), Decimal("0.00"))
    tax_total = sum((sub.tax_amount for sub in breakdown), Decimal("0.00"))
    issue = dt.date(2026, 2, 1)
    return Document(
        id=uuid.UUID("5f0c6c1e-8d1b-4a39-9a53-0d7c1f2b9e11"),
        number=number,
        type=type,
        issue_date=issue,
        due_date=issue + dt.timedelta(days=30),
        period=period,
        language=language,
        seller=make_branding().seller(),
        buyer=buyer or make_buyer(),
        lines=lines,
        tax_breakdown=breakdown,
        totals=Totals(
            net_total=net_total,
            tax_total=tax_total,
            gross_total=net_total + tax_total,
            amount_due=net_total + tax_total,
        ),
        references=references or [],
        consumption=consumption or [],
        reason=reason,
    )


def make_telecom_invoice(language: str = "fr") -> Document:
    """A month of a business line: a subscription that started on the 17th of a 30-day month
    (prorated), voice, SMS and data usage, and the consumption summary of those calls."""
    usage = {"kind": LineKind.USAGE}
    return make_document(
        [
            line(
                1,
                "Forfait Pro Fibre 1 Gb/s",
                "1",
                "24.95",
                kind=LineKind.RECURRING,
                unit="MON",
                proration=Proration(monthly_price=Decimal("49.900000"), days=15, period_days=30),
                period_start=dt.date(2026, 4, 16),
                period_end=dt.date(2026, 4, 30),
            ),
            line(2, "France mobile", "135.5", "0.0350", unit="MIN", usage_kind="voice", **usage),
            line(3, "France mobile - frais de connexion", "42", "0.1000", usage_kind="voice", **usage),
            line(4, "SMS France", "57", "0.0500", usage_kind="sms", **usage),
            line(5, "Données mobiles", "17254.41", "0.0010", unit="4L", usage_kind="data", **usage),
        ],
        language=language,
        period="2026-04",
        consumption=[
            ConsumptionLine(
                label="France mobile", kind="voice", count=42, duration_s=8073, amount=Decimal("8.94")
            ),
            ConsumptionLine(
                label="SMS France", kind="sms", count=57, units=Decimal(57), amount=Decimal("2.85")
            ),
            ConsumptionLine(
                label="Données mobiles",
                kind="data",
                count=311,
                units=Decimal("17254.41"),
                amount=Decimal("17.25"),
            ),
        ],
    )


def make_credit_note(language: str = "fr") -> Document:
    return make_document(
        [
            line(
                1,
                "Remboursement forfait Pro Fibre (panne du 12/01)",
                "1",
                "49.90",
                kind=LineKind.CREDIT_NOTE,
                unit="MON",
            )
        ],
        type=DocumentType.CREDIT_NOTE,
        number="AV2026-000007",
        language=language,
        references=[DocumentReference(number="F2026-000042", issue_date=dt.date(2026, 2, 1))],
        reason="Geste commercial suite à une panne",
    )


def make_proforma(language: str = "fr") -> Document:
    return make_document(
        [
            line(1, "Installation box fibre", "1", "150.00"),
            line(2, "Remise de bienvenue", "1", "-30.00"),
            line(3, "Avoir fidélité", "2", "-12.50"),
        ],
        type=DocumentType.PROFORMA,
        number="PF2026-000003",
        language=language,
    )


def make_preview() -> Document:
    return make_document(type=DocumentType.PREVIEW, number=None)


def make_consumption(count: int) -> list[ConsumptionLine]:
    destinations = [
        ("France fixe", "voice"),
        ("France mobile", "voice"),
        ("International Europe", "voice"),
        ("SMS France", "sms"),
        ("Données mobiles", "data"),
    ]
    rows = []
    for i in range(count):
        label, kind = destinations[i % len(destinations)]
        rows.append(
            ConsumptionLine(
                label=f"{label} #{i + 1}",
                kind=kind,
                count=1 + i % 7,
                duration_s=(37 * i) % 3600 if kind == "voice" else 0,
                amount=Decimal(i % 250) / 100,
            )
        )
    return rows
