"""The operator's identity as printed on every document: it comes from configuration, not from the event.

A regeneration uses the current branding (spec section 6), so the seller shown on the PDF and written in
the UBL/CII is this one, not the snapshot carried by the document.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ledgerline_shared.contracts.document import Address, Document, Party, PaymentDetails


@dataclass(frozen=True)
class Branding:
    seller_name: str
    seller_address: Address
    seller_vat_id: str
    seller_siren: str
    iban: str
    bic: str
    # None: the default logo shipped in the package's assets folder.
    logo_path: Path | None = None
    legal_mentions: tuple[str, ...] = ()
    bank_name: str | None = None
    email: str | None = None

    def seller(self) -> Party:
        return Party(
            name=self.seller_name,
            address=self.seller_address,
            vat_id=self.seller_vat_id,
            siren=self.seller_siren,
            email=self.email,
        )

    def payment_details(self, document: Document) -> PaymentDetails:
        """The account to pay into and the reference to quote: the document number, as the
        e-invoices' PaymentID / PaymentReference (BT-83) say."""
        return PaymentDetails(
            iban=self.iban, bic=self.bic, bank_name=self.bank_name, reference=document.number
        )


def default_legal_mentions(language: str) -> tuple[str, ...]:
    """French B2B mandatory mentions: late-payment penalties, fixed recovery fee, no early discount."""
    if language == "en":
        return (
            "Late payment penalties: three times the French legal interest rate.",
            "Fixed compensation for recovery costs in case of late payment: EUR 40.",
            "No discount for early payment.",
        )
    return (
        "Pénalités de retard : trois fois le taux d'intérêt légal.",
        "Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : 40 €.",
        "Pas d'escompte pour paiement anticipé.",
    )
