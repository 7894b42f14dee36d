"""The FEC file and its report stay byte-identical through the hot path's optimisations.

A fixed, varied data set (invoices, credit notes, proformas, zero documents, several accounts and VAT
rates per document, negative lines, amounts with 0 to 4 decimals, text needing neutralisation) is
written, and its SHA-256 compared with the one the code gave before the optimisations of issue 14.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from decimal import Decimal
from pathlib import Path

from ledgerline_export.adapters.accounting_file import write_accounting_file
from ledgerline_export.domain.fec import FecFormat
from ledgerline_export.domain.issued_document import IssuedDocument, IssuedLine, IssuedType, VatAmount
from ledgerline_export.domain.journal_entry import AccountPlan

NAMES = ["Boulangerie Martin", "=HYPERLINK()", " Dupont | Fils ", "Café\tdu coin", "-Client", "Zoé€", "x "]
ACCOUNTS = ["706100", "706200", None, "=706"]
RATES = ["20.00", "10.00", "5.50", "2.10", "0.00"]
# Recorded from the code before the issue 14 optimisations (commit a36f22e).
EXPECTED_FILE_SHA256 = "7be68df85feb95f38e8087a0957c6824043fbf127c69217f2341b7d2442ee182"
EXPECTED_REPORT_SHA256 = "eb968533843cfd445efb6e4f1c909a7dc1b61de3d868a8b3d78a8488dfcf1a6d"


def _amount(rnd: random.Random) -> Decimal:
    return Decimal(rnd.randrange(-2000, 90000)).scaleb(-rnd.choice((0, 1, 2, 2, 2, 3, 4)))


def varied_documents(count: int = 3000) -> list[IssuedDocument]:
    rnd = random.Random(14)
    docs = []
    for i in range(count):
        kind = rnd.choices(list(IssuedType), weights=(80, 15, 5))[0]
        lines = []
        by_rate: dict[Decimal, Decimal] = {}
        for _ in range(rnd.choice((0, 1, 1, 2, 3))):
            net = _amount(rnd) if rnd.random() < 0.9 else Decimal("0.00")
            rate = Decimal(rnd.choice(RATES))
            lines.append(IssuedLine("ligne", rnd.choice(ACCOUNTS), Decimal(1), net, net, rate))
            by_rate[rate] = by_rate.get(rate, Decimal("0.00")) + net
        vat = tuple(
            VatAmount(rate, base, (base * rate / 100).quantize(Decimal("0.01")))
            for rate, base in sorted(by_rate.items(), reverse=True)
        )
        net_total = sum((line.net for line in lines), Decimal("0.00"))
        gross = net_total + sum((v.tax for v in vat), Decimal("0.00"))
        day = dt.date(2026, 1, 1) + dt.timedelta(days=i % 90)
        docs.append(
            IssuedDocument(
                number=f"{'AV' if kind is IssuedType.CREDIT_NOTE else 'F'}2026-{i:06d}",
                type=kind,
                issue_date=day,
                due_date=None,
                client_id=None,
                client_code=f"C{i % 40:03d}" if i % 7 else rnd.choice(NAMES),
                client_name=rnd.choice(NAMES),
                currency="EUR",
                net=net_total,
                vat=vat,
                gross=gross,
                lines=tuple(lines),
            )
        )
    return docs


def test_fec_of_a_varied_data_set_is_byte_identical(tmp_path: Path) -> None:
    plan = AccountPlan(
        revenue_labels={"706100": "Abonnements", "=706": "@Ventes\tweb"},
        vat_accounts={
            Decimal("20"): "445711",
            Decimal("10"): "445712",
            Decimal("5.5"): "445713",
            Decimal("2.1"): "445714",
            Decimal("0"): "445710",
        },
    )
    path = tmp_path / "fec.txt"
    export = write_accounting_file(path, varied_documents(), FecFormat(plan), plan)
    data = path.read_bytes()
    assert data.count(b"\r\n") > 6000
    assert hashlib.sha256(data).hexdigest() == EXPECTED_FILE_SHA256
    assert hashlib.sha256(export.report_text.encode()).hexdigest() == EXPECTED_REPORT_SHA256
