"""Document -> HTML through the packaged Jinja2 templates (autoescape always on: names are untrusted)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context
from jinja2.runtime import Context

from ledgerline_rendering.adapters.asset_fetcher import ASSETS_DIR, asset_url
from ledgerline_rendering.domain.branding import Branding, default_legal_mentions
from ledgerline_rendering.domain.labels import (
    WATERMARK,
    document_title,
    labels_for,
    unit_of,
    usage_kind_label,
)
from ledgerline_shared import formatting
from ledgerline_shared.contracts.document import ConsumptionLine, Document, DocumentLine, Proration

DEFAULT_LOGO = ASSETS_DIR / "logo.svg"


def _language(context: Context) -> str:
    return str(context["document"].language)


@pass_context
def _money(context: Context, value: Decimal) -> str:
    document = context["document"]
    return formatting.format_amount(value, document.language, document.currency)


@pass_context
def _price(context: Context, value: Decimal) -> str:
    # Unit prices keep their 4 decimals (0.0350 per minute): printed as given, not rounded to the cent.
    return formatting.format_price(value, _language(context))


@pass_context
def _quantity(context: Context, value: Decimal) -> str:
    return formatting.format_quantity(value, _language(context))


@pass_context
def _rate(context: Context, value: Decimal) -> str:
    return formatting.format_rate(value, _language(context))


@pass_context
def _date(context: Context, value: dt.date) -> str:
    return formatting.format_date(value, _language(context))


@pass_context
def _line_quantity(context: Context, line: DocumentLine) -> str:
    """`135 min`, `42 SMS`, `17 254,41 Mo`: the quantity in the unit its price is per."""
    language = _language(context)
    text = formatting.format_quantity(line.quantity, language)
    unit = unit_of(line.unit, line.usage_kind, language)
    return f"{text}{formatting.NBSP}{unit}" if unit else text


@pass_context
def _proration(context: Context, proration: Proration) -> str:
    document = context["document"]
    return formatting.format_proration(
        proration.monthly_price, proration.days, proration.period_days, document.language, document.currency
    )


@pass_context
def _usage_volume(context: Context, row: ConsumptionLine) -> str:
    """SMS and data volumes with their unit; voice has a duration instead (its own column)."""
    language = _language(context)
    if row.units is None or row.kind == "voice":
        return ""
    if row.kind == "data":
        return formatting.format_data_volume(row.units, language)
    unit = unit_of("C62", row.kind, language)
    quantity = formatting.format_quantity(row.units, language)
    return f"{quantity}{formatting.NBSP}{unit}" if unit else quantity


@pass_context
def _usage_kind(context: Context, kind: str) -> str:
    return usage_kind_label(kind, _language(context))


@pass_context
def _period(context: Context, period: str) -> str:
    return formatting.format_period(period, _language(context))


def build_environment() -> Environment:
    """Built once per process: Jinja compiles each template on first use and keeps it."""
    env = Environment(
        loader=PackageLoader("ledgerline_rendering", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(
        money=_money,
        price=_price,
        quantity=_quantity,
        rate=_rate,
        date=_date,
        duration=formatting.format_duration,
        line_quantity=_line_quantity,
        proration=_proration,
        usage_volume=_usage_volume,
        usage_kind=_usage_kind,
        period=_period,
    )
    return env


def logo_file(branding: Branding) -> Path:
    return branding.logo_path or DEFAULT_LOGO


def render_html(env: Environment, document: Document, branding: Branding) -> str:
    labels = labels_for(document.language)
    context: dict[str, Any] = {
        "document": document,
        "branding": branding,
        "L": labels,
        "title": document_title(document.type, document.language),
        "watermark": WATERMARK,
        "logo_url": asset_url(logo_file(branding)),
        "payment_terms": labels["payment_terms"].format(days=document.payment_terms_days),
        "legal_mentions": branding.legal_mentions + default_legal_mentions(document.language),
        "payment": document.payment or branding.payment_details(document),
    }
    return env.get_template(f"{document.type.value}.html").render(context)
