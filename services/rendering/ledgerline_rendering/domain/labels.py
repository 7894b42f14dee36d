"""Printed wording per language (document.language): one table, so FR and EN cannot drift apart."""

from __future__ import annotations

from ledgerline_shared.contracts.document import DocumentType

LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "invoice": "Facture",
        "credit_note": "Avoir",
        "proforma": "Facture proforma",
        "preview": "Aperçu de facture",
        "preview_watermark": "APERÇU",
        "number": "Numéro",
        "issue_date": "Date d'émission",
        "due_date": "Date d'échéance",
        "period": "Période",
        "client": "Client",
        "client_code": "Code client",
        "vat_id": "N° TVA",
        "siren": "SIREN",
        "label": "Désignation",
        "quantity": "Quantité",
        "unit_price": "Prix unitaire HT",
        "vat_rate": "TVA",
        "net_amount": "Montant HT",
        "vat_breakdown": "Récapitulatif TVA",
        "taxable_amount": "Base HT",
        "tax_amount": "Montant TVA",
        "net_total": "Total HT",
        "tax_total": "Total TVA",
        "gross_total": "Total TTC",
        "amount_due": "Net à payer",
        "payment": "Règlement",
        "payment_terms": "Paiement par virement à {days} jours",
        "iban": "IBAN",
        "bic": "BIC",
        "bank": "Banque",
        "consumption": "Détail des consommations",
        "destination": "Destination",
        "kind": "Type",
        "count": "Nombre",
        "duration": "Durée",
        "volume": "Volume",
        "amount": "Montant HT",
        "payment_reference": "Référence à rappeler",
        "contact": "Contact",
        "credit_note_of": "Avoir sur la facture n° {number} du {date}",
        "reason": "Motif",
        "proforma_notice": "Document sans valeur comptable : ne pas payer avant réception de la facture.",
        "preview_notice": "Aperçu avant production : ce document n'est pas une facture.",
        "page": "Page",
        "sep": "\u00a0: ",  # French puts a (no-break) space before a colon
        "credit_amount": "Montant de l'avoir",
        "credit_note_notice": "Cet avoir n'est pas une demande de paiement.",
        "proforma_amount": "Montant indiqué",
        "proforma_payment": "Cette facture proforma n'est pas une demande de paiement.",
    },
    "en": {
        "invoice": "Invoice",
        "credit_note": "Credit note",
        "proforma": "Proforma invoice",
        "preview": "Invoice preview",
        "preview_watermark": "PREVIEW",
        "number": "Number",
        "issue_date": "Issue date",
        "due_date": "Due date",
        "period": "Period",
        "client": "Client",
        "client_code": "Client code",
        "vat_id": "VAT number",
        "siren": "SIREN",
        "label": "Description",
        "quantity": "Quantity",
        "unit_price": "Unit price (excl. VAT)",
        "vat_rate": "VAT",
        "net_amount": "Net amount",
        "vat_breakdown": "VAT breakdown",
        "taxable_amount": "Taxable amount",
        "tax_amount": "VAT amount",
        "net_total": "Total excl. VAT",
        "tax_total": "Total VAT",
        "gross_total": "Total incl. VAT",
        "amount_due": "Amount due",
        "payment": "Payment",
        "payment_terms": "Bank transfer within {days} days",
        "iban": "IBAN",
        "bic": "BIC",
        "bank": "Bank",
        "consumption": "Consumption summary",
        "destination": "Destination",
        "kind": "Kind",
        "count": "Count",
        "duration": "Duration",
        "volume": "Volume",
        "amount": "Net amount",
        "payment_reference": "Reference to quote",
        "contact": "Contact",
        "credit_note_of": "Credit note for invoice {number} of {date}",
        "reason": "Reason",
        "proforma_notice": "Not an accounting document: do not pay before receiving the invoice.",
        "preview_notice": "Pre-production preview: this document is not an invoice.",
        "page": "Page",
        "sep": ": ",
        "credit_amount": "Credit note amount",
        "credit_note_notice": "This credit note is not a request for payment.",
        "proforma_amount": "Amount shown",
        "proforma_payment": "This proforma invoice is not a request for payment.",
    },
}

# What a usage quantity counts, per UN/ECE unit code; SMS and connection-fee lines are C62 ("one")
# and are told apart by their usage kind.
UNITS: dict[str, dict[str, str]] = {
    "fr": {"MIN": "min", "4L": "Mo", "E34": "Go", "sms": "SMS", "calls": "appels"},
    "en": {"MIN": "min", "4L": "MB", "E34": "GB", "sms": "SMS", "calls": "calls"},
}
USAGE_KINDS: dict[str, dict[str, str]] = {
    "fr": {"voice": "Voix", "sms": "SMS", "data": "Données"},
    "en": {"voice": "Voice", "sms": "SMS", "data": "Data"},
}

# The watermark is always the word the spec names, whatever the language, so tests and people find it.
WATERMARK = "PREVIEW"


def labels_for(language: str) -> dict[str, str]:
    return LABELS.get(language, LABELS["fr"])


def unit_of(unit: str, usage_kind: str | None, language: str) -> str | None:
    """The unit printed after a line's quantity (`135 min`, `42 SMS`), None for plain counts."""
    units = UNITS.get(language, UNITS["fr"])
    if unit == "C62":
        if usage_kind == "sms":
            return units["sms"]
        return units["calls"] if usage_kind == "voice" else None
    return units.get(unit)


def usage_kind_label(kind: str, language: str) -> str:
    return USAGE_KINDS.get(language, USAGE_KINDS["fr"]).get(kind, kind)


def document_title(document_type: DocumentType, language: str) -> str:
    return labels_for(language)[document_type.value]
