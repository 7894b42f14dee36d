"""What the invoicing API accepts and answers. Refusals name the field (pydantic's `loc`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ledgerline_shared.contracts.document import MAX_DOCUMENT_LINES
from ledgerline_shared.contracts.mail_address import check_address, check_display_name
from ledgerline_shared.contracts.money import Dec

PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"
# ISO 4217 codes a telecom operator here bills in; a typo is refused rather than invoiced.
CURRENCIES = frozenset({"EUR", "USD", "GBP", "CHF", "CAD", "JPY", "SEK", "NOK", "DKK", "PLN", "CZK", "AUD"})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AddressIn(Strict):
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    postcode: str = Field(min_length=1, max_length=20)
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")


class ClientIn(Strict):
    code: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    name: str = Field(min_length=1, max_length=200)
    address: AddressIn
    vat_id: str | None = Field(default=None, pattern=r"^[A-Z]{2}[A-Za-z0-9]{2,14}$")
    siren: str | None = Field(default=None, pattern=r"^\d{9}$")
    language: Literal["fr", "en"] = "fr"
    currency: str = "EUR"
    payment_terms_days: int = Field(default=30, ge=0, le=365)
    rate_plan_code: str | None = None

    @field_validator("currency")
    @classmethod
    def _iso_4217(cls, value: str) -> str:
        if value not in CURRENCIES:
            raise ValueError(f"unknown ISO 4217 currency {value!r}")
        return value


class ClientPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: AddressIn | None = None
    vat_id: str | None = Field(default=None, pattern=r"^[A-Z]{2}[A-Za-z0-9]{2,14}$")
    siren: str | None = Field(default=None, pattern=r"^\d{9}$")
    language: Literal["fr", "en"] | None = None
    currency: str | None = None
    payment_terms_days: int | None = Field(default=None, ge=0, le=365)
    rate_plan_code: str | None = None

    @field_validator("currency")
    @classmethod
    def _iso_4217(cls, value: str | None) -> str | None:
        if value is not None and value not in CURRENCIES:
            raise ValueError(f"unknown ISO 4217 currency {value!r}")
        return value


class ContactIn(Strict):
    name: str
    email: str
    invoice_recipient: bool = False

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        return check_display_name(value)

    @field_validator("email")
    @classmethod
    def _safe_email(cls, value: str) -> str:
        return check_address(value)


class ContactPatch(Strict):
    name: str | None = None
    email: str | None = None
    invoice_recipient: bool | None = None

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str | None) -> str | None:
        return None if value is None else check_display_name(value)

    @field_validator("email")
    @classmethod
    def _safe_email(cls, value: str | None) -> str | None:
        return None if value is None else check_address(value)


ArticleKind = Literal["recurring", "one_time", "usage", "credit_note"]


class ArticleIn(Strict):
    code: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    label: str = Field(min_length=1, max_length=200)
    kind: ArticleKind
    unit_price: Dec = Field(decimal_places=6)
    vat_rate: Dec = Field(ge=0, le=100, decimal_places=2)
    accounting_account: str = Field(pattern=r"^\d{3,12}$")


class ArticlePatch(Strict):
    label: str | None = Field(default=None, min_length=1, max_length=200)
    unit_price: Dec | None = Field(default=None, decimal_places=6)
    vat_rate: Dec | None = Field(default=None, ge=0, le=100, decimal_places=2)
    accounting_account: str | None = Field(default=None, pattern=r"^\d{3,12}$")


class SubscriptionIn(Strict):
    article_code: str
    quantity: Dec = Field(gt=0, decimal_places=4)
    unit_price: Dec | None = Field(default=None, decimal_places=6)
    start_date: dt.date
    end_date: dt.date | None = None


class OneTimeItemIn(Strict):
    article_code: str
    quantity: Dec = Field(gt=0, decimal_places=4)
    unit_price: Dec | None = Field(default=None, decimal_places=6)
    label: str | None = Field(default=None, max_length=200)
    repeat: Literal["once", "every_cycle"] = "once"


class OneTimeItemPatch(Strict):
    active: bool


class RateRuleIn(Strict):
    # Empty: the catch-all of its kind (e.g. data sessions to an access point name).
    prefix: str = Field(pattern=r"^\d{0,15}$")
    label: str = Field(min_length=1, max_length=200)
    kind: Literal["voice", "sms", "data"]
    unit_price: Dec = Field(ge=0, decimal_places=6)
    connection_fee: Dec = Field(default=Decimal("0"), ge=0, decimal_places=4)
    increment: str = Field(default="60/60", pattern=r"^\d{1,4}/\d{1,4}$")


class RatePlanIn(Strict):
    code: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    rules: list[RateRuleIn] = Field(min_length=1)


class BillingRunIn(Strict):
    period: str = Field(pattern=PERIOD)
    mode: Literal["preview", "production"]
    client_ids: list[str] | None = None


class ReasonIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class CreditLineIn(Strict):
    label: str = Field(min_length=1, max_length=200)
    quantity: Dec = Field(gt=0, decimal_places=4)
    unit_price: Dec = Field(gt=0, decimal_places=6)
    vat_rate: Dec = Field(ge=0, le=100, decimal_places=2)
    article_code: str | None = None


class PartialCreditIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)
    lines: list[CreditLineIn] = Field(min_length=1, max_length=MAX_DOCUMENT_LINES)


class ProformaLineIn(Strict):
    label: str = Field(min_length=1, max_length=200)
    quantity: Dec = Field(gt=0, decimal_places=4)
    unit_price: Dec = Field(decimal_places=6)  # may be negative: method B
    vat_rate: Dec = Field(ge=0, le=100, decimal_places=2)
    article_code: str | None = None


class ProformaIn(Strict):
    lines: list[ProformaLineIn] = Field(min_length=1, max_length=MAX_DOCUMENT_LINES)
    reason: str | None = Field(default=None, max_length=2000)
