"""Issue 16: what a client's accounts-payable clerk reads on page 1 and can check by hand.

The PDF's text is read back with pypdf, in French and in English: a prorated line as the monthly
price × the covered fraction, unit prices of at most four decimals, usage quantities and the
consumption summary with their units (durations for voice only), the invoice a credit note
corrects with its date and the reason, and the reference to quote.
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader
from rendering_factory import (
    line,
    make_branding,
    make_credit_note,
    make_document,
    make_proforma,
    make_telecom_invoice,
)

from ledgerline_rendering.adapters.pdf_document import PdfRenderer
from ledgerline_rendering.adapters.render_pool import render_document
from ledgerline_shared.contracts.document import Document, LineKind, Proration


def page_texts(pdf: bytes) -> list[str]:
    # No-break spaces (thousands, before a unit or €) compared as plain spaces.
    reader = PdfReader(io.BytesIO(pdf))
    return [page.extract_text().replace("\u202f", " ").replace("\u00a0", " ") for page in reader.pages]


def rendered(renderer: PdfRenderer, document: Document) -> tuple[Document, list[str]]:
    result = render_document(renderer, document, make_branding())
    return result.document, page_texts(result.pdf)


EXPECTED_INVOICE = {
    "fr": [
        "Forfait Pro Fibre 1 Gb/s",
        "49,90 € × 15/30 jours (16/04/2026 – 30/04/2026)",
        "1 24,95 20 % 24,95 €",  # quantity, unit price, VAT, net: 1 × 24,95 = 24,95
        "135,5 min 0,035 20 % 4,74 €",  # 135,5 × 0,035 = 4,7425
        "42 appels 0,10 20 % 4,20 €",
        "57 SMS 0,05 20 % 2,85 €",
        "17 254,41 Mo 0,001 20 % 17,25 €",
        "Période avril 2026",
        "Date d'échéance 03/03/2026",
        "Net à payer 64,79 €",
        "Référence à rappeler : F2026-000042",
        "Destination Type Nombre Durée Volume Montant HT",
        "France mobile Voix 42 2:14:33 8,94 €",
        "SMS France SMS 57 57 SMS 2,85 €",
        "Données mobiles Données 311 17,25 Go 17,25 €",
    ],
    "en": [
        "EUR 49.90 × 15/30 days (16 Apr 2026 – 30 Apr 2026)",
        "1 24.95 20 % EUR 24.95",
        "135.5 min 0.035 20 % EUR 4.74",
        "42 calls 0.10 20 % EUR 4.20",
        "57 SMS 0.05 20 % EUR 2.85",
        "17,254.41 MB 0.001 20 % EUR 17.25",
        "Period April 2026",
        "Due date 3 Mar 2026",
        "Amount due EUR 64.79",
        "Reference to quote: F2026-000042",
        "Destination Kind Count Duration Volume Net amount",
        "France mobile Voice 42 2:14:33 EUR 8.94",
        "SMS France SMS 57 57 SMS EUR 2.85",
        "Mobile data Data 311 17.25 GB EUR 17.25",
    ],
}


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_telecom_invoice_reads_with_its_proration_units_and_summary(
    renderer: PdfRenderer, language: str
) -> None:
    document = make_telecom_invoice(language)
    if language == "en":  # the label is the catalog's, in whatever language the operator wrote it
        document = document.model_copy(
            update={
                "consumption": [
                    row.model_copy(update={"label": "Mobile data"}) if row.kind == "data" else row
                    for row in document.consumption
                ]
            }
        )
    _, pages = rendered(renderer, document)
    text = "\n".join(pages)
    for expected in EXPECTED_INVOICE[language]:
        assert expected in text, expected
    # Durations belong to voice only (the rows above put the volume right after the count); data
    # volumes never show in raw megabytes in the summary.
    summary = text[text.index("Destination") : text.index("Règlement" if language == "fr" else "Payment")]
    assert "17 254,41" not in summary and "17,254.41" not in summary


def test_a_unit_price_never_shows_more_than_four_decimals_and_the_net_stays_exact(
    renderer: PdfRenderer,
) -> None:
    # A price read back from a scale-6 column, prorated the way it used to be (12,603333).
    prorated = line(
        1,
        "Forfait Pro",
        "3",
        "12.603333",
        kind=LineKind.RECURRING,
        unit="MON",
        proration=Proration(monthly_price=Decimal("29.99"), days=13, period_days=31),
    )
    document, pages = rendered(renderer, make_document([prorated]))
    assert document.lines[0].net_amount == Decimal("37.81")  # 3 × 12.603333, to the cent, as before
    assert "3 12,6033 20 % 37,81 €" in pages[0]
    assert "12,603333" not in pages[0]
    assert "29,99 € × 13/31 jours" in pages[0]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "fr",
            [
                "Avoir AV2026-000007",
                "Avoir sur la facture n° F2026-000042 du 01/02/2026",
                "Motif : Geste commercial suite à une panne",
                "Montant de l'avoir 59,88 €",
                "Cet avoir n'est pas une demande de paiement.",
                "Référence à rappeler : AV2026-000007",
            ],
        ),
        (
            "en",
            [
                "Credit note AV2026-000007",
                "Credit note for invoice F2026-000042 of 1 Feb 2026",
                "Reason: Geste commercial suite à une panne",
                "Credit note amount EUR 59.88",
                "This credit note is not a request for payment.",
                "Reference to quote: AV2026-000007",
            ],
        ),
    ],
)
def test_a_credit_note_shows_the_invoice_it_corrects_its_date_and_the_reason_on_page_1(
    renderer: PdfRenderer, language: str, expected: list[str]
) -> None:
    _, pages = rendered(renderer, make_credit_note(language))
    for phrase in expected:
        assert phrase in pages[0], phrase
    assert "Paiement par virement" not in pages[0] and "Bank transfer" not in pages[0]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "fr",
            [
                "Facture proforma PF2026-000003",
                "-25,00 €",
                "ne pas payer avant réception de la facture",
                "Montant indiqué 114,00 €",
                "Cette facture proforma n'est pas une demande de paiement.",
            ],
        ),
        (
            "en",
            [
                "Proforma invoice PF2026-000003",
                "EUR -25.00",
                "do not pay before receiving the invoice",
                "Amount shown EUR 114.00",
                "This proforma invoice is not a request for payment.",
            ],
        ),
    ],
)
def test_a_proforma_says_it_is_not_to_be_paid(
    renderer: PdfRenderer, language: str, expected: list[str]
) -> None:
    _, pages = rendered(renderer, make_proforma(language))
    text = "\n".join(pages)
    for phrase in expected:
        assert phrase in text, phrase
    assert "Net à payer" not in text and "Amount due" not in text and "IBAN" not in text


def test_the_rendered_json_carries_the_payment_details_the_pdf_prints(renderer: PdfRenderer) -> None:
    document, pages = rendered(renderer, make_telecom_invoice("fr"))
    assert document.payment is not None
    assert (document.payment.iban, document.payment.bic, document.payment.reference) == (
        "FR76 3000 6000 0112 3456 7890 189",
        "AGRIFRPP",
        "F2026-000042",
    )
    text = "\n".join(pages)
    assert f"IBAN : {document.payment.iban}" in text and f"BIC : {document.payment.bic}" in text
