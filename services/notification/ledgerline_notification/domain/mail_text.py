"""Subject and body of each kind of e-mail, in the client's language, from Jinja2 templates.

One `<kind>.<language>.txt` per kind and language holds two blocks, `subject` and `body`; an
optional `<kind>.<language>.html` (extending layout.html) is the HTML alternative. HTML templates
autoescape; the text ones do not, as nothing interprets them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    select_autoescape,
)

Language = Literal["fr", "en"]
LANGUAGES: tuple[Language, ...] = ("fr", "en")
DEFAULT_LANGUAGE: Language = "fr"  # the spec's default client language

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class MailText:
    subject: str
    text: str
    html: str | None


def language_of(value: str | None) -> Language:
    """`fr`, `en`, `en-GB`, `FR`... to a language we have templates for; anything else is French."""
    primary = (value or "").strip().lower().replace("_", "-").split("-")[0]
    for language in LANGUAGES:
        if primary == language:
            return language
    return DEFAULT_LANGUAGE


def format_date(value: dt.date | None, language: Language) -> str | None:
    if value is None:
        return None
    if language == "fr":
        return value.strftime("%d/%m/%Y")
    return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"


def format_amount(value: Decimal | None, currency: str, language: Language) -> str | None:
    """1234.5 EUR -> `1 234,50 EUR` (fr, with no-break spaces) or `1,234.50 EUR` (en)."""
    if value is None:
        return None
    grouped = f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"
    if language == "fr":
        grouped = grouped.replace(",", "\u00a0").replace(".", ",")
    return f"{grouped}\u00a0{currency}" if language == "fr" else f"{grouped} {currency}"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        # Escaping on unless the template is plain text: a new kind of template is safe by default.
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default_for_string=True, default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render_block(template: Template, block: str, context: dict[str, Any]) -> str:
    return "".join(template.blocks[block](template.new_context(context)))


def render_mail_text(kind: str, language: Language, context: dict[str, Any]) -> MailText:
    """Render the e-mail of `kind` (invoice, credit_note, proforma, preview, export_report)."""
    environment = _environment()
    text_template = environment.get_template(f"{kind}.{language}.txt")
    # A subject is one line: whatever the data held, it cannot fold into a second header.
    subject = " ".join(_render_block(text_template, "subject", context).split())
    body = _render_block(text_template, "body", context).strip("\n") + "\n"
    try:
        html_template = environment.get_template(f"{kind}.{language}.html")
    except TemplateNotFound:
        html = None
    else:
        html = html_template.render({**context, "subject": subject, "language": language})
    return MailText(subject=subject, text=body, html=html)
