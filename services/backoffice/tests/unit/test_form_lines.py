"""Lines typed in a form (credit notes, proformas) → the API's Decimal strings, or sentences."""

from ledgerline_backoffice.domain.form_lines import parse_lines, rows_from_form


def test_french_amounts_become_api_strings_and_empty_rows_are_skipped() -> None:
    rows = [
        {"label": "Goodwill credit", "quantity": "1", "unit_price": "-50,00", "vat_rate": "20"},
        {"label": "", "quantity": "", "unit_price": "", "vat_rate": ""},
    ]
    parsed = parse_lines(rows, allow_negative=True)
    assert parsed.errors == []
    assert parsed.lines == [
        {"label": "Goodwill credit", "quantity": "1", "unit_price": "-50.00", "vat_rate": "20.00"}
    ]


def test_a_credit_note_line_must_be_positive() -> None:
    parsed = parse_lines(
        [{"label": "Outage", "quantity": "1", "unit_price": "-10", "vat_rate": "20"}], allow_negative=False
    )
    assert parsed.lines == []
    assert parsed.errors == ["Line 1: the unit price must be above zero (the amount credited)."]


def test_each_bad_line_is_named() -> None:
    rows = [
        {"label": "", "quantity": "1", "unit_price": "5", "vat_rate": "20"},
        {"label": "A", "quantity": "zero", "unit_price": "5", "vat_rate": "20"},
        {"label": "B", "quantity": "1", "unit_price": "5", "vat_rate": "120"},
    ]
    errors = parse_lines(rows, allow_negative=False).errors
    assert errors[0].startswith("Line 1: give it a label")
    assert errors[1].startswith("Line 2: the quantity")
    assert errors[2].startswith("Line 3: the VAT rate")


def test_no_line_at_all_is_refused() -> None:
    assert parse_lines([], allow_negative=True).errors == [
        "Add at least one line with a label and an amount."
    ]


def test_rows_from_form_reads_the_numbered_inputs() -> None:
    rows = rows_from_form({"line-0-label": "X", "line-0-unit_price": "3", "line-1-label": "Y"})
    assert rows[0] == {"label": "X", "quantity": "", "unit_price": "3", "vat_rate": ""}
    assert rows[1]["label"] == "Y" and len(rows) == 8
