"""Rendering's settings: branding (re-read at every render), workers, the document store."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from pydantic import Field

from ledgerline_rendering.domain.branding import Branding
from ledgerline_shared.contracts.document import Address
from ledgerline_shared.document_store import store_root
from ledgerline_shared.settings import Settings


class RenderingSettings(Settings):
    seller_name: str = "Ledgerline Telecom SAS"
    seller_line1: str = "12 rue des Lignes"
    seller_postcode: str = "75011"
    seller_city: str = "Paris"
    seller_country: str = "FR"
    seller_vat_id: str = "FR32123456789"
    seller_siren: str = "123456789"
    seller_email: str = "billing@ledgerline.test"
    bank_name: str = "Banque Exemple"
    iban: str = "FR7630006000011234567890189"
    bic: str = "AGRIFRPPXXX"
    logo_path: Path | None = None
    # Optional JSON overriding the fields above without a restart (a new logo, a new address):
    # a regeneration uses the branding of its own moment (spec section 6).
    branding_file: Path | None = None
    render_workers: int = 0  # 0: one per core
    validate_einvoices: bool = True
    # How often every instance finishes the SFTP tree's copies a killed process left unwritten, and how
    # old a version must be before it is looked at (service/production_copies.py).
    production_check_s: float = Field(default=10.0, gt=0)

    def document_root(self) -> Path:
        return store_root(self.data_dir)

    def branding(self) -> Branding:
        fields: dict[str, str] = {
            "seller_name": self.seller_name,
            "line1": self.seller_line1,
            "postcode": self.seller_postcode,
            "city": self.seller_city,
            "country": self.seller_country,
            "seller_vat_id": self.seller_vat_id,
            "seller_siren": self.seller_siren,
            "email": self.seller_email,
            "bank_name": self.bank_name,
            "iban": self.iban,
            "bic": self.bic,
            "logo_path": str(self.logo_path) if self.logo_path else "",
        }
        path = self.branding_file or self.data_dir / "branding.json"
        if path.is_file():
            fields.update(json.loads(path.read_text(encoding="utf-8")))
        return Branding(
            seller_name=fields["seller_name"],
            seller_address=Address(
                line1=fields["line1"],
                postcode=fields["postcode"],
                city=fields["city"],
                country=fields["country"],
            ),
            seller_vat_id=fields["seller_vat_id"],
            seller_siren=fields["seller_siren"],
            iban=fields["iban"],
            bic=fields["bic"],
            logo_path=Path(fields["logo_path"]) if fields.get("logo_path") else None,
            bank_name=fields.get("bank_name") or None,
            email=fields.get("email"),
        )


@lru_cache
def get_rendering_settings() -> RenderingSettings:
    return RenderingSettings()
