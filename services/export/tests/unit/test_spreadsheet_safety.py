from __future__ import annotations

from decimal import Decimal

import pytest

from ledgerline_export.domain.cells import plain_text
from ledgerline_export.domain.spreadsheet_safety import is_neutral, neutralise


@pytest.mark.parametrize("text", ["=1+2", "+33 cmd", "-2+3", "@SUM(A1)", "\tTabbed", "\rCarriage"])
def test_dangerous_first_character_gets_a_quote(text: str) -> None:
    assert neutralise(text) == "'" + text
    assert is_neutral(neutralise(text))


@pytest.mark.parametrize("text", ["", "Boulangerie", "a=b", "1-2", "'=already", " =space"])
def test_harmless_text_is_unchanged(text: str) -> None:
    assert neutralise(text) == text


def test_numbers_stay_numbers_in_csv_text() -> None:
    assert plain_text(Decimal("-50.00")) == "-50.00"
    assert plain_text("-50.00") == "'-50.00"  # the same characters as text are neutralised
