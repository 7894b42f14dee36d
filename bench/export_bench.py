"""Export service benchmarks (writes bench/results/export.json).

1. Excel export of 100,000 documents (constant_memory) vs raw XlsxWriter writing the same rows.
2. FEC of 1,000,000 lines vs a raw csv.writer writing the same rows.
3. Grouped PDF of 2,000 stored PDFs: time and peak RSS of a child process, vs pypdf's PdfWriter.append
   (which holds every page in memory) in the same run; "interpreter_rss_mb" is the child's floor.
   The 2,000 sources are copies of a few PDFs rendered with WeasyPrint
   (rendering 2,000 distinct ones would dominate the run).
Run: .venv/bin/python bench/export_bench.py
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from measure import RUNS, Target, cpu_and_wall, save, stage

from ledgerline_export.adapters.accounting_file import write_accounting_file
from ledgerline_export.adapters.excel_export_file import write_excel_export
from ledgerline_export.adapters.grouped_pdf_file import write_grouped_pdf
from ledgerline_export.domain.excel_export import ExcelLayout
from ledgerline_export.domain.fec import FecFormat
from ledgerline_export.domain.grouped_pdf import GroupedPdfPart
from ledgerline_export.domain.issued_document import IssuedDocument, IssuedLine, IssuedType, VatAmount
from ledgerline_export.domain.journal_entry import AccountPlan


def documents(n: int) -> list[IssuedDocument]:
    start = dt.date(2026, 1, 1)
    docs = []
    for i in range(n):
        net = Decimal(1000 + i % 9000) / 100
        vat = (net * Decimal("0.2")).quantize(Decimal("0.01"))
        kind = IssuedType.CREDIT_NOTE if i % 20 == 19 else IssuedType.INVOICE
        day = start + dt.timedelta(days=i % 28)
        docs.append(
            IssuedDocument(
                number=f"F2026-{i + 1:06d}",
                type=kind,
                issue_date=day,
                due_date=day + dt.timedelta(days=30),
                client_id=None,
                client_code=f"C{i % 5000:05d}",
                client_name=f"Client {i % 5000}",
                currency="EUR",
                net=net,
                vat=(VatAmount(Decimal("20.00"), net, vat),),
                gross=net + vat,
                lines=(IssuedLine("Forfait", "706100", Decimal(1), net, net, Decimal("20.00")),),
                original_number="F2026-000001" if kind is IssuedType.CREDIT_NOTE else None,
            )
        )
    return docs


def _xlsx_raw(path: Path, docs: list[IssuedDocument]) -> None:
    rows = [
        [
            d.number,
            d.type.value,
            d.issue_date,
            d.due_date,
            d.client_code,
            d.client_name,
            float(d.signed_net),
            float(d.signed_vat_total),
            float(d.signed_vat_total),
            float(d.signed_gross),
            d.currency,
            d.status.value,
            d.original_number or "",
        ]
        for d in docs
    ]
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet()
    money, date = wb.add_format({"num_format": "#,##0.00"}), wb.add_format({"num_format": "yyyy-mm-dd"})
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row):
            if isinstance(v, float):
                ws.write_number(r, c, v, money)
            elif isinstance(v, dt.date):
                ws.write_datetime(r, c, v, date)
            else:
                ws.write_string(r, c, v)
    wb.close()


def bench_xlsx(tmp: Path, docs: list[IssuedDocument]) -> dict[str, Any]:
    layout = ExcelLayout.for_rates([Decimal("20.00")])
    runs = [
        (
            cpu_and_wall(lambda: _xlsx_raw(tmp / "raw.xlsx", docs)),
            cpu_and_wall(lambda: write_excel_export(tmp / "ours.xlsx", docs, layout)),
        )
        for _ in range(RUNS)
    ]
    return _cpu_stage(
        f"XLSX of {len(docs):,} documents (CPU time)", runs, Target("<=", 1.3), {"documents": len(docs)}
    )


def _cpu_stage(
    name: str,
    runs: list[tuple[tuple[float, float], tuple[float, float]]],
    target: Target,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """A stage whose ratio is on CPU time, with the wall-clock ratio beside it."""
    wall = stage("wall", [r[0][1] for r in runs], [r[1][1] for r in runs], None)
    return stage(
        name,
        [r[0][0] for r in runs],
        [r[1][0] for r in runs],
        target,
        extra={
            **extra,
            "wall_clock_ratio": wall["ratio"],
            "wall_raw_seconds": wall["raw_seconds"],
            "wall_service_seconds": wall["service_seconds"],
        },
    )


def _fec_raw(tmp: Path, docs: list[IssuedDocument]) -> None:
    """The baseline: the same rows, amounts as str() with a comma, through csv.writer."""

    def raw_rows():  # type: ignore[no-untyped-def]
        n = 0
        for d in docs:
            n += 1
            day = d.issue_date.strftime("%Y%m%d")
            g, net, v = (str(x).replace(".", ",") for x in (d.gross, d.net, d.vat_total))
            lab = f"Facture {d.number} {d.client_name}"
            common = ("VT", "Ventes", n, day)
            piece = (d.number, day, lab)
            end = ("", "", day, "", "")
            yield (*common, "411000", "Clients", d.client_code, d.client_name, *piece, g, "0,00", *end)
            yield (*common, "706100", "Ventes", "", "", *piece, "0,00", net, *end)
            yield (*common, "445711", "TVA", "", "", *piece, "0,00", v, *end)

    with (tmp / "raw.txt").open("w", encoding="iso-8859-15", newline="") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\r\n")
        writer.writerow(["JournalCode"] * 18)
        writer.writerows(raw_rows())


def bench_fec(tmp: Path, docs: list[IssuedDocument]) -> dict[str, Any]:
    """Single-process and CPU-bound, so the ratio is taken on the process's CPU time (what the machine's
    other load cannot inflate); the wall-clock ratio is kept beside it."""
    plan = AccountPlan()
    exports = []

    def ours() -> None:
        exports.append(write_accounting_file(tmp / "fec.txt", docs, FecFormat(plan), plan))

    runs = [(cpu_and_wall(lambda: _fec_raw(tmp, docs)), cpu_and_wall(ours)) for _ in range(RUNS)]
    lines = exports[-1].rows
    extra = {"lines": lines, "documents": len(docs), "balanced": exports[-1].report.balanced}
    return _cpu_stage(f"FEC, {lines:,} lines (CPU time)", runs, Target("<=", 1.1), extra)


def pdf_child(mode: str, src: Path, out: Path) -> None:
    files = sorted(src.glob("*.pdf"))
    t0 = time.perf_counter()
    if mode == "ours":
        write_grouped_pdf(out, (GroupedPdfPart(p.stem, p.stem, str(p)) for p in files))
    elif mode == "pypdf":
        from pypdf import PdfWriter

        writer = PdfWriter()
        for p in files:
            writer.append(str(p), outline_item=p.stem)
        with out.open("wb") as f:
            writer.write(f)
    elapsed = time.perf_counter() - t0
    # VmHWM (peak resident set of this address space): unlike ru_maxrss it is not inherited across
    # fork+exec from the big parent process.
    status = Path("/proc/self/status").read_text()
    hwm = [line for line in status.splitlines() if line.startswith("VmHWM:")]
    rss_kb = int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "peak_rss_mb": round(rss_kb / 1024, 1)}))


def run_child(mode: str, src: Path, out: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--pdf-child", mode, str(src), str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def bench_pdf(tmp: Path, count: int) -> dict[str, object]:
    import weasyprint

    src = tmp / "pdfs"
    src.mkdir()
    samples = []
    for k in range(4):
        rows = "".join(f"<tr><td>Appel {i}</td><td>{i * 0.1:.2f} €</td></tr>" for i in range(40 + 30 * k))
        html = f"<h1>Facture F2026-{k}</h1><p>Client {k}</p><table>{rows}</table>"
        samples.append(weasyprint.HTML(string=html).write_pdf())
    for i in range(count):
        (src / f"F2026-{i + 1:06d}.pdf").write_bytes(samples[i % len(samples)])
    source_mb = sum(p.stat().st_size for p in src.glob("*.pdf")) / 2**20
    idle = run_child("idle", src, tmp / "idle.pdf")
    rounds = [
        (run_child("pypdf", src, tmp / "pypdf.pdf"), run_child("ours", src, tmp / "ours.pdf"))
        for _ in range(RUNS)
    ]
    ours = {
        "seconds": statistics.median(o["seconds"] for _, o in rounds),
        "peak_rss_mb": max(o["peak_rss_mb"] for _, o in rounds),
    }
    base = {
        "seconds": statistics.median(b["seconds"] for b, _ in rounds),
        "peak_rss_mb": max(b["peak_rss_mb"] for b, _ in rounds),
    }
    from pypdf import PdfReader

    reader = PdfReader(tmp / "ours.pdf")
    pages, bookmarks = len(reader.pages), len(reader.outline)
    details = {
        "documents": count,
        "pages": pages,
        "bookmarks": bookmarks,
        "source_mb": round(source_mb, 1),
        "output_mb": round((tmp / "ours.pdf").stat().st_size / 2**20, 1),
        "peak_rss_mb": ours["peak_rss_mb"],
        "interpreter_rss_mb": idle["peak_rss_mb"],
        "raw_pypdf_peak_rss_mb": base["peak_rss_mb"],
        "ratio_peak_rss_vs_pypdf": round(ours["peak_rss_mb"] / base["peak_rss_mb"], 3),
    }
    raws, services = [b["seconds"] for b, _ in rounds], [o["seconds"] for _, o in rounds]
    return stage(f"merged PDF of {count:,} documents (time vs pypdf)", raws, services, None, extra=details)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="export-bench-"))
    try:
        stages = [
            bench_xlsx(tmp, documents(100_000)),
            bench_fec(tmp, documents(int(os.environ.get("LEDGERLINE_BENCH_FEC_DOCUMENTS", "333334")))),
            bench_pdf(tmp, 2000),
        ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    save("export", stages)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--pdf-child":
        pdf_child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        main()
