"""The shortcuts of the accounting files' hot path give exactly what the plain rules give.

Each shortcut (text returned as is when nothing is to be done, amounts already in cents written with
str(), the shared ZERO written "0,00", per-plan memos) is checked against the rule it stands for,
written here the long way: byte-identical files are the promise.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ledgerline_export.adapters.accounting_file import write_accounting_file
from ledgerline_export.domain.cells import UnquotedText, cents, comma_decimal, plain_decimal, single_line
from ledgerline_export.domain.fec import FecFormat
from ledgerline_export.domain.iif import IifFormat
from ledgerline_export.domain.issued_document import IssuedDocument, IssuedLine, IssuedType, VatAmount
from ledgerline_export.domain.journal_entry import AccountPlan, journal_entry
from ledgerline_export.domain.spreadsheet_safety import neutralise

FEC_FORBIDDEN = "\t|\r\n"
TRICKY_TEXT = ["", " ", "=1+2", " =x", "x ", "a|b", "a\tb", "\xa0=nb", "nb\xa0", "\u2028", "-", "@", "ok"]


def _flat(text: str, forbidden: str) -> str:
    return neutralise(single_line(text, forbidden).strip())


def _comma(amount: Decimal) -> str:
    return format(amount.quantize(Decimal("0.01")), "f").replace(".", ",")


def _outcome(render: Callable[[Decimal], str], amount: Decimal) -> str:
    try:
        return render(amount)
    except decimal.InvalidOperation:
        return "InvalidOperation"


@pytest.mark.parametrize("forbidden", [FEC_FORBIDDEN, "\t\r\n"])
@pytest.mark.parametrize("text", TRICKY_TEXT)
def test_unquoted_text_matches_the_plain_rule_on_tricky_values(forbidden: str, text: str) -> None:
    cells = UnquotedText(forbidden)
    assert cells(text) == _flat(text, forbidden)
    assert cells.repeated(text) == cells.repeated(text) == _flat(text, forbidden)


@given(st.text(alphabet=st.sampled_from(" \t\r\n|=+-@'\"a1é€\xa0\u2028\x00"), max_size=8) | st.text())
def test_unquoted_text_matches_the_plain_rule(text: str) -> None:
    for forbidden in (FEC_FORBIDDEN, "\t\r\n"):
        assert UnquotedText(forbidden)(text) == _flat(text, forbidden)


amounts = st.decimals(allow_nan=False, allow_infinity=False) | st.builds(
    lambda digits, exponent: Decimal(digits).scaleb(exponent),
    st.integers(-(10**31), 10**31),
    st.integers(-9, 4),
)


@given(amounts)
@example(Decimal("-0.00"))
@example(Decimal("1.005"))  # the context's half-even rounding, as before
@example(Decimal("1E+1"))
@example(Decimal("1234567890123456789012345678.90"))  # beyond 28 digits: quantize refuses
def test_amount_texts_match_quantize_and_format(amount: Decimal) -> None:
    assert _outcome(comma_decimal, amount) == _outcome(_comma, amount)
    assert _outcome(cents, amount) == _outcome(lambda a: format(a.quantize(Decimal("0.01")), "f"), amount)
    assert plain_decimal(amount) == format(amount, "f")


def _doc(number: str, client_name: str, account: str | None, net: Decimal, rate: str) -> IssuedDocument:
    vat_rate = Decimal(rate)
    tax = (net * vat_rate / 100).quantize(Decimal("0.01"))
    return IssuedDocument(
        number=number,
        type=IssuedType.CREDIT_NOTE if number.startswith("AV") else IssuedType.INVOICE,
        issue_date=dt.date(2026, 3, 9),
        due_date=None,
        client_id=None,
        client_code=client_name,
        client_name=client_name,
        currency="EUR",
        net=net,
        vat=(VatAmount(vat_rate, net, tax),),
        gross=net + tax,
        lines=(IssuedLine("x", account, Decimal(1), net, net, vat_rate),),
    )


def test_fec_rows_match_a_plain_rendering_of_each_cell(tmp_path: Path) -> None:
    plan = AccountPlan(
        journal_code=" =VT",
        journal_label="Ven|tes",
        receivable_label="-Clients ",
        revenue_labels={"=706": "@Ventes\tweb"},
        vat_accounts={Decimal("20"): "445711", Decimal("5.5"): "445713"},
    )
    docs = [
        _doc("F2026-000001", "=HYPERLINK()", "=706", Decimal("10.00"), "20.00"),
        _doc("F2026-000002", " Dupont | Fils ", None, Decimal("7.005"), "5.50"),  # 3 decimals: rounded
        _doc("AV2026-000001", "Café\tdu coin", "=706", Decimal("4.10"), "20.0"),
    ]
    path = tmp_path / "fec.txt"
    write_accounting_file(path, docs, FecFormat(plan), plan)

    expected = []
    for number, doc in enumerate(docs, start=1):
        entry = journal_entry(doc, plan)
        assert entry is not None
        assert entry.debit == sum(line.debit for line in entry.lines) == entry.credit
        for line in entry.lines:
            text = [plan.journal_code, plan.journal_label, str(number), "20260309", line.account]
            text += [line.account_label, line.auxiliary_account, line.auxiliary_label, doc.number]
            cells = [_flat(t, FEC_FORBIDDEN) if i != 2 and i != 3 else t for i, t in enumerate(text)]
            cells += ["20260309", _flat(entry.label, FEC_FORBIDDEN), _comma(line.debit), _comma(line.credit)]
            expected.append("\t".join([*cells, "", "", "20260309", "", ""]))
    lines = path.read_bytes().decode("iso-8859-15").split("\r\n")
    assert lines[1:] == [*expected, ""]
    assert lines[1].startswith("'=VT\tVen tes\t1\t20260309\t411000\t'-Clients\t'=HYPERLINK()")
    assert "\t'=706\t'@Ventes web\t" in lines[2]
    assert "\tDupont   Fils\t" in lines[4] and "\t0,00\t7,00\t" in lines[5]  # 7.005 -> 7,00 (half-even)
    assert "\tTVA collectée 20%\t" in lines[-2]  # rate 20.0 found under the plan's 20, labelled 20


def test_iif_rows_match_a_plain_rendering(tmp_path: Path) -> None:
    plan = AccountPlan(revenue_labels={"=706": " Sales\t"})
    docs = [_doc("F2026-000001", "-Client", "=706", Decimal("12.30"), "20.00")]
    path = tmp_path / "x.iif"
    write_accounting_file(path, docs, IifFormat(plan, receivable_name="=AR"), plan)
    rows = [r.split("\t") for r in path.read_bytes().decode("cp1252").split("\r\n")[3:-1]]
    assert rows[0][:7] == ["TRNS", "", "INVOICE", "03/09/2026", "'=AR", "'-Client", "14.76"]
    assert rows[1][4:7] == ["'=706", "'-Client", "-12.30"] and rows[1][8] == _flat(" Sales\t", "\t\r\n")
    assert rows[2][4] == "445711" and rows[2][6] == "-2.46"
    assert rows[3] == ["ENDTRNS"]
