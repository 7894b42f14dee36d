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
        "amount": "Montant HT",
        "credit_note_of": "Avoir sur la facture n° {number} du {date}",
        "reason": "Motif",
        "proforma_notice": "Document sans valeur comptable : ne pas payer avant réception de la facture.",
        "preview_notice": "Aperçu avant production : ce document n'est pas une facture.",
        "page": "Page",
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
        "amount": "Net amount",
        "credit_note_of": "Credit note for invoice {number} of {date}",
        "reason": "Reason",
        "proforma_notice": "Not an accounting document: do not pay before receiving the invoice.",
        "preview_notice": "Pre-production preview: this document is not an invoice.",
        "page": "Page",
    },
}

# The watermark is always the word the spec names, whatever the language, so tests and people find it.
WATERMARK = "PREVIEW"


def labels_for(language: str) -> dict[str, str]:
    return LABELS.get(language, LABELS["fr"])


def document_title(document_type: DocumentType, language: str) -> str:
    return labels_for(language)[document_type.value]
