"""Invoicing's own settings: the seller it bills as, and the number prefixes (spec section 4)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from pydantic import Field, model_validator

from ledgerline_invoicing.domain.numbering import Series, check_prefixes
from ledgerline_invoicing.domain.run_review import DEFAULT_BLOCKING, FlagCode
from ledgerline_shared.contracts.document import Address, Party
from ledgerline_shared.settings import Settings


class InvoicingSettings(Settings):
    seller_name: str = "Ledgerline Telecom SAS"
    seller_line1: str = "12 rue des Lignes"
    seller_postcode: str = "75011"
    seller_city: str = "Paris"
    seller_country: str = "FR"
    seller_vat_id: str = "FR32123456789"
    seller_siren: str = "123456789"
    seller_email: str = "billing@ledgerline.test"
    invoice_prefix: str = "F"
    credit_note_prefix: str = "AV"
    proforma_prefix: str = "PF"

    @model_validator(mode="after")
    def _distinct_prefixes(self) -> InvoicingSettings:
        # The prefix keys the number sequence: two series sharing one would share a counter.
        check_prefixes(
            {
                Series.INVOICE: self.invoice_prefix,
                Series.CREDIT_NOTE: self.credit_note_prefix,
                Series.PROFORMA: self.proforma_prefix,
            }
        )
        return self

    billing_workers: int = 4  # clients billed concurrently within a run
    usage_csv_max_bytes: int = 1024**3  # one streamed POST /usage.csv (~10 million records)

    # Issue 15: production needs a second person's approval of a preview (off: integrations unchanged).
    run_approval_required: bool = False
    # The review's anomaly thresholds (domain/run_review.py); amounts in the preview's currency.
    review_total_change_share: Decimal = Decimal("0.30")
    review_total_change_amount: Decimal = Decimal("20.00")
    review_usage_multiple: Decimal = Decimal("3")
    review_usage_cycles: int = Field(default=3, ge=1, le=24)
    review_first_invoice_amount: Decimal = Decimal("500.00")
    review_blocking_flags: frozenset[FlagCode] = DEFAULT_BLOCKING

    def seller(self) -> Party:
        return Party(
            name=self.seller_name,
            address=Address(
                line1=self.seller_line1,
                postcode=self.seller_postcode,
                city=self.seller_city,
                country=self.seller_country,
            ),
            vat_id=self.seller_vat_id,
            siren=self.seller_siren,
            email=self.seller_email,
        )


@lru_cache
def get_invoicing_settings() -> InvoicingSettings:
    return InvoicingSettings()
