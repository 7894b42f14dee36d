from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from ledgerline_export.adapters.accounting_file import write_accounting_file
from ledgerline_export.domain.fec import FEC_COLUMNS, FecFormat, ForeignCurrencyDocument, fec_file_name
from ledgerline_export.domain.issued_document import IssuedDocument, IssuedLine
from ledgerline_export.domain.journal_entry import AccountPlan, UnbalancedEntry, UnmappedVatRate
from ledgerline_shared.contracts.document import Document

EXPECTED_HEADER = (
    "JournalCode\tJournalLib\tEcritureNum\tEcritureDate\tCompteNum\tCompteLib\tCompAuxNum\tCompAuxLib\t"
    "PieceRef\tPieceDate\tEcritureLib\tDebit\tCredit\tEcritureLet\tDateLet\tValidDate\tMontantdevise\tIdevise"
)


def _amount(text: str) -> Decimal:
    assert "." not in text, text  # the administration's decimal comma
    return Decimal(text.replace(",", "."))


def _read(path: Path, delimiter: str = "\t") -> tuple[str, list[dict[str, str]]]:
    raw = path.read_bytes().decode("iso-8859-15")
    header = raw.split("\r\n", 1)[0]
    with path.open(encoding="iso-8859-15", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=delimiter, quoting=csv.QUOTE_NONE))
    return header, rows


def test_fec_header_and_balanced_entries(tmp_path: Path, month: list[IssuedDocument]) -> None:
    path = tmp_path / fec_file_name("123456789", dt.date(2026, 1, 31))
    assert path.name == "123456789FEC20260131.txt"
    plan = AccountPlan()
    export = write_accounting_file(path, month, FecFormat(plan), plan)
    header, rows = _read(path)
    assert header == EXPECTED_HEADER
    assert tuple(rows[0]) == FEC_COLUMNS and all(len(r) == 18 for r in rows)
    assert all(None not in r for r in rows)  # no extra column anywhere

    by_entry: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by_entry[r["EcritureNum"]].append(r)
    assert list(by_entry) == ["1", "2", "3", "4"]  # proforma excluded, numbering continuous
    for lines in by_entry.values():
        assert sum(_amount(r["Debit"]) for r in lines) == sum(_amount(r["Credit"]) for r in lines)
        assert len({r["PieceRef"] for r in lines}) == 1
    total_debit = sum(_amount(r["Debit"]) for r in rows)
    assert total_debit == sum(_amount(r["Credit"]) for r in rows)
    assert total_debit == export.report.debit and export.report.balanced

    assert {r["JournalCode"] for r in rows} == {"VT"} and {r["JournalLib"] for r in rows} == {"Ventes"}
    invoice = [r for r in rows if r["PieceRef"] == "F2026-000002"]
    client = next(r for r in invoice if r["CompteNum"] == "411000")
    assert (client["CompAuxNum"], client["CompAuxLib"]) == ("C0002", "Hôtel du Lac")
    assert _amount(client["Debit"]) == Decimal("202.15") and _amount(client["Credit"]) == 0
    assert client["EcritureDate"] == client["PieceDate"] == client["ValidDate"] == "20260115"
    vat = {r["CompteNum"]: _amount(r["Credit"]) for r in invoice if r["CompteNum"].startswith("4457")}
    assert vat == {
        "445711": Decimal("11.98"),
        "445712": Decimal("9.33"),
        "445713": Decimal("1.28"),
        "445714": Decimal("0.06"),
    }
    revenue = {r["CompteNum"]: _amount(r["Credit"]) for r in invoice if r["CompteNum"].startswith("70")}
    assert revenue == {"706100": Decimal("59.90"), "706300": Decimal("93.31"), "707000": Decimal("26.29")}
    assert all(r["CompAuxNum"] == "" for r in invoice if r["CompteNum"] != "411000")

    credit = [r for r in rows if r["PieceRef"] == "AV2026-000001"]
    client_cn = next(r for r in credit if r["CompteNum"] == "411000")
    assert _amount(client_cn["Credit"]) == Decimal("23.99") and _amount(client_cn["Debit"]) == 0
    assert all(_amount(r["Debit"]) > 0 for r in credit if r["CompteNum"] != "411000")  # reversed
    assert client_cn["EcritureLib"].startswith("Avoir AV2026-000001")

    hostile = next(r for r in rows if r["PieceRef"] == "F2026-000003" and r["CompteNum"] == "411000")
    assert hostile["CompAuxLib"].startswith("'=")

    text = export.report_text
    assert "invoice: 3" in text and "credit_note: 1" in text
    assert "Excluded (proforma, not an accounting document): 1" in text
    assert "Balance check: OK" in text


def test_negative_line_on_an_invoice_goes_to_the_other_side(
    tmp_path: Path, month: list[IssuedDocument]
) -> None:
    plan = AccountPlan()
    path = tmp_path / "fec.txt"
    write_accounting_file(path, [d for d in month if d.number == "F2026-000003"], FecFormat(plan), plan)
    _, rows = _read(path)
    amounts = [(r["CompteNum"], r["Debit"], r["Credit"]) for r in rows]
    # 100 - 30 on the same account nets to 70 credited; nothing is ever negative.
    assert ("706100", "0,00", "70,00") in amounts
    assert all(not r["Debit"].startswith("-") and not r["Credit"].startswith("-") for r in rows)


def test_pipe_separator_and_configurable_vat_accounts(tmp_path: Path, month: list[IssuedDocument]) -> None:
    plan = AccountPlan(
        vat_accounts={
            Decimal("20"): "44571020",
            Decimal("10"): "44571010",
            Decimal("5.5"): "44571055",
            Decimal("2.1"): "44571021",
        }
    )
    path = tmp_path / "fec.txt"
    write_accounting_file(path, month, FecFormat(plan, separator="|"), plan)
    header, rows = _read(path, delimiter="|")
    assert header == EXPECTED_HEADER.replace("\t", "|")
    assert {r["CompteNum"] for r in rows if r["CompteNum"].startswith("4457")} == {
        "44571020",
        "44571010",
        "44571055",
        "44571021",
    }


def test_other_separator_is_refused() -> None:
    with pytest.raises(ValueError, match="separator"):
        FecFormat(AccountPlan(), separator=";")


def test_foreign_currency_document_is_left_out_and_named_in_the_report(
    tmp_path: Path, make_doc: Callable[..., Document]
) -> None:
    """The FEC is kept in EUR and the read model has no exchange rate: a USD invoice is not written
    (its amounts would be wrong), the EUR one is, and the report names the USD one to book by hand."""
    usd = IssuedDocument.from_document(make_doc("F2026-000001", currency="USD"))
    eur = IssuedDocument.from_document(make_doc("F2026-000002"))
    plan = AccountPlan()
    path = tmp_path / "fec.txt"
    exported = write_accounting_file(path, [usd, eur], FecFormat(plan), plan)
    text = path.read_text(encoding="iso-8859-15")
    assert "F2026-000002" in text and "F2026-000001" not in text
    report = exported.report_text
    assert "Documents exported: 1" in report
    assert "not in the accounting currency" in report and "F2026-000001" in report


def test_fec_lines_of_a_foreign_document_are_refused_by_the_format_itself(
    make_doc: Callable[..., Document],
) -> None:
    from ledgerline_export.domain.journal_entry import journal_entry

    doc = IssuedDocument.from_document(make_doc("F2026-000001", currency="USD"))
    entry = journal_entry(doc, AccountPlan())
    assert entry is not None
    with pytest.raises(ForeignCurrencyDocument):
        FecFormat(AccountPlan()).entry_lines(entry)


def test_inconsistent_document_is_refused(tmp_path: Path, month: list[IssuedDocument]) -> None:
    doc = month[0]
    broken = IssuedDocument(
        **{
            **{f: getattr(doc, f) for f in doc.__dataclass_fields__},
            "lines": (
                *doc.lines,
                IssuedLine("extra", "706100", Decimal(1), Decimal(1), Decimal("1.00"), Decimal(20)),
            ),
        }
    )
    plan = AccountPlan()
    with pytest.raises(UnbalancedEntry):
        write_accounting_file(tmp_path / "fec.txt", [broken], FecFormat(plan), plan)


def test_unmapped_vat_rate_is_refused(tmp_path: Path, month: list[IssuedDocument]) -> None:
    plan = AccountPlan(vat_accounts={Decimal("20"): "445711"})
    with pytest.raises(UnmappedVatRate):
        write_accounting_file(tmp_path / "fec.txt", month, FecFormat(plan), plan)
