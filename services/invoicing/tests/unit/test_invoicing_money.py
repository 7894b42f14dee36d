from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerline_invoicing.domain.errors import InvalidMoney
from ledgerline_invoicing.domain.lines import DraftLine
from ledgerline_invoicing.domain.money import document_totals, line_net, tax_amount, tax_breakdown


@pytest.mark.parametrize(
    ("quantity", "price", "expected"),
    [
        (D("1"), D("0.125"), D("0.13")),  # half-up, not banker's (0.12)
        (D("1"), D("0.135"), D("0.14")),
        (D("1"), D("0.1249"), D("0.12")),
        (D("3"), D("0.3333"), D("1.00")),
        (D("-1"), D("0.125"), D("-0.13")),  # half away from zero for credits too
        (D("2.5"), D("19.99"), D("49.98")),
        (D("0"), D("12.34"), D("0.00")),
    ],
)
def test_line_net_rounds_half_up_to_the_cent(quantity, price, expected):
    assert line_net(quantity, price) == expected
    assert line_net(quantity, price).as_tuple().exponent == -2


def test_line_net_refuses_floats():
    with pytest.raises(InvalidMoney) as error:
        line_net(D("1"), 0.1)  # type: ignore[arg-type]
    assert error.value.field == "unit_price"


def test_tax_is_computed_per_rate_on_the_sum_of_nets_not_per_line():
    # Three lines of 0.025 VAT each: per-line rounding would give 3 x 0.03 = 0.09.
    lines = [DraftLine("x", D(1), D("0.125"), D("20")) for _ in range(3)]
    assert [line.net_amount for line in lines] == [D("0.13")] * 3
    (subtotal,) = tax_breakdown(lines)
    assert subtotal.taxable_amount == D("0.39")
    assert subtotal.tax_amount == D("0.08")  # 0.39 x 20% = 0.078
    assert subtotal.category == "S"


def test_breakdown_has_one_subtotal_per_rate_with_categories():
    lines = [
        DraftLine("a", D(1), D("100"), D("20")),
        DraftLine("b", D(2), D("10.55"), D("5.5")),
        DraftLine("c", D(1), D("30"), D("20.00")),
        DraftLine("d", D(1), D("7"), D("0")),
    ]
    breakdown = tax_breakdown(lines)
    assert [(s.vat_rate, s.category, s.taxable_amount, s.tax_amount) for s in breakdown] == [
        (D("20.00"), "S", D("130.00"), D("26.00")),
        (D("5.50"), "S", D("21.10"), D("1.16")),  # 1.1605
        (D("0.00"), "Z", D("7.00"), D("0.00")),
    ]
    totals = document_totals(lines)
    assert totals.net_total == D("158.10")
    assert totals.tax_total == D("27.16")
    assert totals.gross_total == D("185.26")
    assert totals.amount_due == totals.gross_total


def test_a_rate_outside_0_100_is_refused():
    with pytest.raises(InvalidMoney) as error:
        DraftLine("x", D(1), D(1), D("-5"))
    assert error.value.field == "vat_rate"
    with pytest.raises(InvalidMoney):
        DraftLine("x", D(1), D(1), D("100.01"))


def test_a_breakdown_that_does_not_cover_the_lines_is_refused():
    lines = [DraftLine("a", D(1), D("10"), D("20"))]
    wrong = tax_breakdown([DraftLine("a", D(1), D("11"), D("20"))])
    with pytest.raises(InvalidMoney) as error:
        document_totals(lines, wrong)
    assert error.value.field == "tax_breakdown"


amounts = st.decimals(min_value=D("-1000"), max_value=D("10000"), places=4, allow_nan=False)
quantities = st.decimals(min_value=D("0"), max_value=D("500"), places=3, allow_nan=False)
rates = st.sampled_from([D("0"), D("2.1"), D("5.5"), D("10"), D("20"), D("8.5")])
line_strategy = st.builds(lambda q, p, r: DraftLine("l", q, p, r), quantities, amounts, rates)


@given(st.lists(line_strategy, min_size=1, max_size=30))
def test_totals_always_reconcile(lines):
    breakdown = tax_breakdown(lines)
    totals = document_totals(lines)
    # BR-CO-10/13: net total is the sum of line nets and of the taxable amounts.
    assert totals.net_total == sum((line.net_amount for line in lines), D(0))
    assert sum((s.taxable_amount for s in breakdown), D(0)) == totals.net_total
    # BR-CO-14/15/16
    assert totals.tax_total == sum((s.tax_amount for s in breakdown), D(0))
    assert totals.gross_total == totals.net_total + totals.tax_total
    assert totals.amount_due == totals.gross_total
    # BR-CO-17, one subtotal per distinct rate
    assert len({s.vat_rate for s in breakdown}) == len(breakdown) == len({line.vat_rate for line in lines})
    for subtotal in breakdown:
        base = sum((line.net_amount for line in lines if line.vat_rate == subtotal.vat_rate), D(0))
        assert subtotal.taxable_amount == base
        assert subtotal.tax_amount == tax_amount(base, subtotal.vat_rate)
        assert abs(subtotal.tax_amount - base * subtotal.vat_rate / 100) <= D("0.005")


def test_a_rate_with_more_than_two_decimals_is_refused_not_rounded():
    with pytest.raises(InvalidMoney) as error:
        DraftLine("x", D(1), D(1), D("5.555"))
    assert error.value.field == "vat_rate"
    assert DraftLine("x", D(1), D(1), D("5.5")).vat_rate == D("5.50")
