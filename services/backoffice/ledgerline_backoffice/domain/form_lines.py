"""Document lines typed in a form (credit notes, proformas) made into the API's lines, or refused.

Amounts may be typed the French way (`-50,00`); they leave as the API's Decimal strings. Empty rows
are skipped. Whether a negative price is allowed is the screen's (proforma: yes; credit note: no).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ledgerline_backoffice.domain.formatting import parse_amount

MAX_LINES = 8
LINE_FIELDS = ("label", "quantity", "unit_price", "vat_rate")


@dataclass(frozen=True)
class ParsedLines:
    lines: list[dict[str, str]]
    errors: list[str]


def parse_lines(rows: Sequence[Mapping[str, str]], *, allow_negative: bool) -> ParsedLines:
    lines: list[dict[str, str]] = []
    errors: list[str] = []
    for n, row in enumerate(rows, start=1):
        label = row.get("label", "").strip()
        raw = {k: row.get(k, "").strip() for k in ("quantity", "unit_price", "vat_rate")}
        if not label and not any(raw.values()):
            continue
        if not label:
            errors.append(f"Line {n}: give it a label.")
            continue
        quantity = parse_amount(raw["quantity"] or "1")
        price = parse_amount(raw["unit_price"])
        vat = parse_amount(raw["vat_rate"] or "20")
        if quantity is None or quantity <= 0:
            errors.append(f"Line {n}: the quantity must be a number above zero.")
        elif price is None:
            errors.append(f"Line {n}: the unit price must be a number, e.g. 50,00.")
        elif price == 0 or (price < 0 and not allow_negative):
            errors.append(
                f"Line {n}: the unit price must be "
                + (
                    "non-zero (negative for a credit)."
                    if allow_negative
                    else "above zero (the amount credited)."
                )
            )
        elif vat is None or not 0 <= vat <= 100:
            errors.append(f"Line {n}: the VAT rate must be a percentage between 0 and 100, e.g. 20.")
        else:
            lines.append(
                {
                    "label": label,
                    "quantity": f"{quantity:f}",
                    "unit_price": f"{price:f}",
                    "vat_rate": f"{vat:.2f}",
                }
            )
    if not lines and not errors:
        errors.append("Add at least one line with a label and an amount.")
    return ParsedLines(lines, errors)


def rows_from_form(form: Mapping[str, object]) -> list[dict[str, str]]:
    """The `line-<i>-<field>` inputs of a form as rows (kept to redisplay the form on a refusal)."""
    rows = []
    for i in range(MAX_LINES):
        row = {}
        for name in LINE_FIELDS:
            value = form.get(f"line-{i}-{name}")
            row[name] = value if isinstance(value, str) else ""
        rows.append(row)
    return rows
