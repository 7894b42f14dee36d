"""Line amounts, VAT breakdown and document totals (spec section 4, EN 16931 BR-CO-10..17).

- A line's net amount is quantity x unit price, rounded half-up to 2 decimals (cents).
- VAT is computed once per rate, on the sum of the line nets of that rate, rounded half-up:
  never per line, so that the tax of a rate never depends on how its lines were split.
- net total = sum of line nets (BR-CO-10/13), tax total = sum of per-rate taxes (BR-CO-14),
  gross = net + tax (BR-CO-15), amount due = gross (no prepayment, BR-CO-16).
- Category S (standard) for a rate above 0, Z (zero-rated) for 0 (UNCL5305).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from ledgerline_invoicing.domain.errors import InvalidMoney
from ledgerline_shared.contracts.document import TaxSubtotal, Totals
from ledgerline_shared.contracts.money import round_cents

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


class Taxable(Protocol):
    """Anything with a rounded net amount and a VAT rate (DraftLine, the shared DocumentLine)."""

    @property
    def net_amount(self) -> Decimal: ...

    @property
    def vat_rate(self) -> Decimal: ...


def line_net(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """quantity x unit price, half-up to the cent (0.125 -> 0.13, -0.125 -> -0.13)."""
    _require_decimal("quantity", quantity)
    _require_decimal("unit_price", unit_price)
    return round_cents(Decimal(quantity) * Decimal(unit_price))


def check_vat_rate(rate: Decimal, field: str = "vat_rate") -> Decimal:
    """A VAT rate is a finite percentage in [0, 100]; returned normalised to 2 decimals ("20.00")."""
    _require_decimal(field, rate)
    if rate < 0 or rate > HUNDRED:
        raise InvalidMoney(field, f"VAT rate must be between 0 and 100, got {rate}")
    normalised = Decimal(rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if normalised != rate:
        # Silently rounding 5.555 would tax at a rate nobody asked for.
        raise InvalidMoney(field, f"VAT rate has at most 2 decimals, got {rate}")
    return normalised


def vat_category(rate: Decimal) -> str:
    """UNCL5305 category: S for a positive rate, Z for 0 (exemptions are not modelled yet)."""
    return "S" if rate > 0 else "Z"


def tax_amount(taxable_amount: Decimal, rate: Decimal) -> Decimal:
    """Tax of one rate (BR-CO-17): taxable x rate / 100, half-up to the cent."""
    return round_cents(taxable_amount * rate / HUNDRED)


def tax_breakdown(lines: Iterable[Taxable]) -> list[TaxSubtotal]:
    """One subtotal per VAT rate on the sum of that rate's line nets, highest rate first."""
    bases: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        rate = check_vat_rate(line.vat_rate)
        bases[rate] += line.net_amount
    return [
        TaxSubtotal(
            vat_rate=rate,
            category=vat_category(rate),
            taxable_amount=round_cents(base),
            tax_amount=tax_amount(base, rate),
        )
        for rate, base in sorted(bases.items(), key=lambda item: item[0], reverse=True)
    ]


def document_totals(lines: Sequence[Taxable], breakdown: Sequence[TaxSubtotal] | None = None) -> Totals:
    """Totals of a document from its lines and (by default, computed) VAT breakdown.

    A given breakdown must cover exactly the line nets (BR-CO-13: sum of taxable amounts = net
    total); it is only passed by the cancellation credit note, whose tax mirrors what remains.
    """
    net = round_cents(sum((line.net_amount for line in lines), ZERO))
    subtotals = list(breakdown) if breakdown is not None else tax_breakdown(lines)
    taxable = sum((s.taxable_amount for s in subtotals), ZERO)
    if taxable != net:
        raise InvalidMoney("tax_breakdown", f"taxable amounts sum to {taxable}, line nets to {net}")
    tax = sum((s.tax_amount for s in subtotals), ZERO)
    gross = net + tax
    return Totals(net_total=net, tax_total=tax, gross_total=gross, amount_due=gross)


def _require_decimal(field: str, value: object) -> None:
    # Floats have already lost the cent; ints are fine but callers normally hold Decimals.
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise InvalidMoney(field, f"must be a Decimal, got {type(value).__name__}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise InvalidMoney(field, "must be a finite number")
