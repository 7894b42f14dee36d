"""What the invoicing API accepts and answers. Refusals name the field (pydantic's `loc`).

Each body becomes the service layer's own command (service/commands.py) through its `command`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ledgerline_invoicing.domain.articles import ArticleKind
from ledgerline_invoicing.service import commands
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

    def command(self) -> commands.Address:
        return commands.Address(
            line1=self.line1, line2=self.line2, postcode=self.postcode, city=self.city, country=self.country
        )


def _changes(patch: BaseModel) -> dict[str, object]:
    """The fields a PATCH gave (None included: some fields may be cleared), addresses as commands."""
    changes: dict[str, object] = {name: getattr(patch, name) for name in patch.model_fields_set}
    address = changes.get("address")
    if isinstance(address, AddressIn):
        changes["address"] = address.command()
    return changes


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

    def command(self) -> commands.CreateClient:
        return commands.CreateClient(
            code=self.code,
            name=self.name,
            address=self.address.command(),
            vat_id=self.vat_id,
            siren=self.siren,
            language=self.language,
            currency=self.currency,
            payment_terms_days=self.payment_terms_days,
            rate_plan_code=self.rate_plan_code,
        )


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

    def command(self, client_id: str) -> commands.UpdateClient:
        return commands.UpdateClient(client_id=client_id, changes=_changes(self))


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

    def command(self, client_id: str) -> commands.AddContact:
        return commands.AddContact(
            client_id=client_id, name=self.name, email=self.email, invoice_recipient=self.invoice_recipient
        )


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

    def command(self, contact_id: str) -> commands.UpdateContact:
        return commands.UpdateContact(contact_id=contact_id, changes=_changes(self))


class ArticleIn(Strict):
    code: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    label: str = Field(min_length=1, max_length=200)
    kind: ArticleKind
    unit_price: Dec = Field(decimal_places=6)
    vat_rate: Dec = Field(ge=0, le=100, decimal_places=2)
    accounting_account: str = Field(pattern=r"^\d{3,12}$")

    def command(self) -> commands.CreateArticle:
        return commands.CreateArticle(**self.model_dump())


class ArticlePatch(Strict):
    label: str | None = Field(default=None, min_length=1, max_length=200)
    unit_price: Dec | None = Field(default=None, decimal_places=6)
    vat_rate: Dec | None = Field(default=None, ge=0, le=100, decimal_places=2)
    accounting_account: str | None = Field(default=None, pattern=r"^\d{3,12}$")

    def command(self, code: str) -> commands.UpdateArticle:
        return commands.UpdateArticle(code=code, changes=_changes(self))


class SubscriptionIn(Strict):
    article_code: str
    quantity: Dec = Field(gt=0, decimal_places=4)
    unit_price: Dec | None = Field(default=None, decimal_places=6)
    start_date: dt.date
    end_date: dt.date | None = None

    def command(self, client_id: str) -> commands.AddSubscription:
        return commands.AddSubscription(client_id=client_id, **self.model_dump())


class OneTimeItemIn(Strict):
    article_code: str
    quantity: Dec = Field(gt=0, decimal_places=4)
    unit_price: Dec | None = Field(default=None, decimal_places=6)
    label: str | None = Field(default=None, max_length=200)
    repeat: Literal["once", "every_cycle"] = "once"

    def command(self, client_id: str) -> commands.AddOneTimeItem:
        return commands.AddOneTimeItem(client_id=client_id, **self.model_dump())


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

    def command(self) -> commands.RateRuleSpec:
        return commands.RateRuleSpec(**self.model_dump())


class RatePlanIn(Strict):
    code: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    rules: list[RateRuleIn] = Field(min_length=1)

    def command(self) -> commands.CreateRatePlan:
        return commands.CreateRatePlan(code=self.code, rules=tuple(r.command() for r in self.rules))


class BillingRunIn(Strict):
    period: str = Field(pattern=PERIOD)
    mode: Literal["preview", "production"]
    client_ids: list[str] | None = None

    def command(self, requested_by: str) -> commands.RequestBillingRun:
        return commands.RequestBillingRun(
            period=self.period, mode=self.mode, client_ids=self.client_ids, requested_by=requested_by
        )


class ReasonIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class CreditLineIn(Strict):
    label: str = Field(min_length=1, max_length=200)
    quantity: Dec = Field(gt=0, decimal_places=4)
    unit_price: Dec = Field(gt=0, decimal_places=6)
    vat_rate: Dec = Field(ge=0, le=100, decimal_places=2)
    article_code: str | None = None

    def command(self) -> commands.CreditLine:
        return commands.CreditLine(**self.model_dump())


class PartialCreditIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)
    lines: list[CreditLineIn] = Field(min_length=1, max_length=MAX_DOCUMENT_LINES)

    def command(self, number: str, requested_by: str) -> commands.CreditPartially:
        return commands.CreditPartially(
            number=number,
            reason=self.reason,
            lines=tuple(line.command() for line in self.lines),
            requested_by=requested_by,
        )


class ProformaLineIn(Strict):
    label: str = Field(min_length=1, max_length=200)
    quantity: Dec = Field(gt=0, decimal_places=4)
    unit_price: Dec = Field(decimal_places=6)  # may be negative: method B
    vat_rate: Dec = Field(ge=0, le=100, decimal_places=2)
    article_code: str | None = None

    def command(self) -> commands.ProformaLine:
        return commands.ProformaLine(**self.model_dump())


class ProformaIn(Strict):
    lines: list[ProformaLineIn] = Field(min_length=1, max_length=MAX_DOCUMENT_LINES)
    reason: str | None = Field(default=None, max_length=2000)

    def command(self, client_id: str, requested_by: str) -> commands.CreateProforma:
        return commands.CreateProforma(
            client_id=client_id,
            lines=tuple(line.command() for line in self.lines),
            requested_by=requested_by,
            reason=self.reason,
        )
