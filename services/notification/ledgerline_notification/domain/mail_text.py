"""Subject and both bodies of each kind of e-mail, in the client's language, from ONE template.

`<kind>.<language>.html` (extending layout.html, autoescaped) holds a `subject` block and a
`content` block. The HTML part is the template rendered; the plain-text part is read off that same
HTML (domain/html_text.py), and the subject off its `subject` block: the two parts cannot say
different things, and client data is escaped in the one that would interpret it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from ledgerline_notification.domain.html_text import html_to_text
from ledgerline_shared.formatting import Language, language_of

__all__ = ["TEMPLATES_DIR", "Language", "MailText", "language_of", "render_mail_text"]

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"


@dataclass(frozen=True)
class MailText:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        # Escaping always on: every part is built from HTML templates.
        autoescape=select_autoescape(default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def one_line(text: str) -> str:
    """Line breaks, controls and runs of spaces to one space; no-break spaces (in amounts) stay."""
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    return re.sub(" {2,}", " ", cleaned).strip()


def _render_block(template: Template, block: str, context: dict[str, Any]) -> str:
    return "".join(template.blocks[block](template.new_context(context)))


def render_mail_text(kind: str, language: Language, context: dict[str, Any]) -> MailText:
    """Render the e-mail of `kind` (invoice, credit_note, proforma, preview, export_report)."""
    template = _environment().get_template(f"{kind}.{language}.html")
    # A subject is one line: whatever the data held, it cannot fold into a second header.
    subject = one_line(html_to_text(_render_block(template, "subject", context)))
    html = template.render({**context, "language": language})
    return MailText(subject=subject, text=html_to_text(html), html=html)
