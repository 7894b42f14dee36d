from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from ledgerline_export.adapters.accounting_file import write_accounting_file
from ledgerline_export.domain.datev import DATEV_COLUMNS, DatevBatchError, DatevFormat, DatevOptions
from ledgerline_export.domain.issued_document import IssuedDocument
from ledgerline_export.domain.journal_entry import AccountPlan

CREATED = dt.datetime(2026, 2, 1, 9, 30, 5, 123000)


def _options(**changes: object) -> DatevOptions:
    base: dict[str, object] = dict(
        consultant_number=29098,
        client_number=55003,
        date_from=dt.date(2026, 1, 1),
        date_to=dt.date(2026, 1, 31),
        debtor_accounts={"C0002": "1000002"},
    )
    base.update(changes)
    return DatevOptions(**base)  # type: ignore[arg-type]


def _umsatz(row: dict[str, str]) -> Decimal:
    return Decimal(row["Umsatz (ohne Soll/Haben-Kz)"].replace(",", "."))


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="cp1252", newline="") as f:
        return list(csv.reader(f, delimiter=";"))


def test_datev_header_columns_and_rows(tmp_path: Path, month: list[IssuedDocument]) -> None:
    plan = AccountPlan()
    path = tmp_path / "EXTF_Buchungsstapel.csv"
    export = write_accounting_file(path, month, DatevFormat(plan, _options(), CREATED), plan)
    raw = path.read_bytes()
    assert "Hôtel".encode("cp1252") in raw and b"\r\n" in raw  # Windows-1252, CRLF
    first_line = raw.split(b"\r\n")[0].decode("cp1252")
    assert first_line.startswith('"EXTF";700;21;"Buchungsstapel";13;20260201093005123;;"LL";')
    rows = _rows(path)
    head = rows[0]
    assert len(head) == 31
    assert head[10:16] == ["29098", "55003", "20260101", "6", "20260101", "20260131"]
    assert head[21] == "EUR"
    assert tuple(rows[1]) == DATEV_COLUMNS
    data = [dict(zip(DATEV_COLUMNS, r, strict=True)) for r in rows[2:]]
    assert len(data) == export.rows > 0

    hotel = [r for r in data if r["Belegfeld 1"] == "F2026-000002"]
    assert {r["Konto"] for r in hotel} == {"1000002"}  # the mapped debtor
    assert {r["Soll/Haben-Kennzeichen"] for r in hotel} == {"S"}
    assert {r["Belegdatum"] for r in hotel} == {"1501"}
    assert sum(_umsatz(r) for r in hotel) == Decimal("202.15")
    assert {r["Gegenkonto (ohne BU-Schlüssel)"] for r in hotel} == {
        "706100",
        "706300",
        "707000",
        "445711",
        "445712",
        "445713",
        "445714",
    }
    credit = [r for r in data if r["Belegfeld 1"] == "AV2026-000001"]
    assert {r["Soll/Haben-Kennzeichen"] for r in credit} == {"H"}
    assert {r["Konto"] for r in credit} == {"1000000"}  # default debtor
    assert all(
        "," in r["Umsatz (ohne Soll/Haben-Kz)"] and "-" not in r["Umsatz (ohne Soll/Haben-Kz)"] for r in data
    )
    assert all(len(r["Buchungstext"]) <= 60 for r in data)
    assert not any(r["Belegfeld 1"].startswith("PF") for r in data)
    # S minus H equals the receivables booked: invoices minus credit notes.
    signed = sum(_umsatz(r) * (1 if r["Soll/Haben-Kennzeichen"] == "S" else -1) for r in data)
    assert signed == sum(d.signed_gross for d in month if d.is_accounting_document)


def test_range_across_fiscal_years_is_refused() -> None:
    with pytest.raises(DatevBatchError, match="fiscal"):
        opts = _options(date_from=dt.date(2025, 12, 1), date_to=dt.date(2026, 1, 31))
        DatevFormat(AccountPlan(), opts, CREATED)


def test_fiscal_year_starting_in_july_allows_a_range_over_new_year() -> None:
    opts = _options(date_from=dt.date(2025, 12, 1), date_to=dt.date(2026, 1, 31), fiscal_year_start_month=7)
    fmt = DatevFormat(AccountPlan(), opts, CREATED)
    assert "20250701" in next(iter(fmt.preamble()))


def test_document_outside_the_range_is_refused(tmp_path: Path, month: list[IssuedDocument]) -> None:
    plan = AccountPlan()
    fmt = DatevFormat(plan, _options(date_to=dt.date(2026, 1, 20)), CREATED)
    with pytest.raises(DatevBatchError, match="outside"):
        write_accounting_file(tmp_path / "d.csv", month, fmt, plan)


def test_non_numeric_account_is_refused(tmp_path: Path, month: list[IssuedDocument]) -> None:
    plan = AccountPlan()
    fmt = DatevFormat(plan, _options(account_map={"706100": "REV-A"}), CREATED)
    with pytest.raises(DatevBatchError, match="REV-A"):
        write_accounting_file(tmp_path / "d.csv", month, fmt, plan)


def test_the_default_debtor_account_is_a_setting(tmp_path: Path) -> None:
    from ledgerline_export.config import ExportSettings

    january = (dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    plan = AccountPlan()
    unset = ExportSettings(data_dir=tmp_path).datev_options(*january)
    assert DatevFormat(plan, unset, CREATED).default_debtor == "1000000"  # today's default, unchanged
    chosen = ExportSettings(data_dir=tmp_path, datev_default_debtor_account="1099999")
    assert DatevFormat(plan, chosen.datev_options(*january), CREATED).default_debtor == "1099999"
