"""Rendering throughput: the service's process pool (PDF/A-3b + Factur-X + UBL + CII + validation)
against raw WeasyPrint writing the same HTML to PDF on the same cores. Writes bench/results/rendering.json.

Run: .venv/bin/python bench/rendering_bench.py
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The realistic document factory lives with the rendering tests; reuse it rather than copy it.
sys.path.insert(0, str(ROOT / "services/rendering/tests/unit"))

from rendering_factory import make_branding, make_consumption, make_document  # noqa: E402

from ledgerline_rendering.adapters.asset_fetcher import ASSETS_DIR  # noqa: E402
from ledgerline_rendering.adapters.pdf_document import PdfRenderer  # noqa: E402
from ledgerline_rendering.adapters.render_pool import PdfRenderPool  # noqa: E402

WORKERS = 2
CASES = {"one_page_invoice": (0, 80), "consumption_annex_500_calls": (500, 6)}


def _raw_pdf(html: str) -> int:
    from weasyprint import HTML

    pdf = HTML(string=html, base_url=ASSETS_DIR.as_uri() + "/").write_pdf()
    return len(pdf or b"")


async def _service_rate(document, count: int, validate: bool = True) -> float:  # type: ignore[no-untyped-def]
    async with PdfRenderPool(workers=WORKERS, validate=validate) as pool:
        await pool.render(document, make_branding())  # warm the templates and schematrons in a worker
        await pool.render(document, make_branding())
        start = time.perf_counter()
        await asyncio.gather(*(pool.render(document, make_branding()) for _ in range(count)))
        return count / (time.perf_counter() - start)


def _raw_rate(html: str, count: int) -> float:
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
        pool.map(_raw_pdf, [html] * WORKERS)  # import WeasyPrint in each worker first
        start = time.perf_counter()
        pool.map(_raw_pdf, [html] * count, chunksize=1)
        return count / (time.perf_counter() - start)


def main() -> None:
    css = (ASSETS_DIR / "document.css").read_text()
    renderer = PdfRenderer()
    results = {}
    for name, (calls, count) in CASES.items():
        document = make_document(consumption=make_consumption(calls) if calls else None)
        # The same HTML the service renders, with its stylesheet inlined (raw WeasyPrint, default fetcher).
        html = renderer.html(document, make_branding()).replace("</head>", f"<style>{css}</style></head>")
        service = asyncio.run(_service_rate(document, count))
        raw = _raw_rate(html, count)
        # The same service without the EN 16931 checks (LEDGERLINE_VALIDATE_EINVOICES=false): what the
        # XSD + schematron validation of both XMLs costs, measured rather than guessed.
        unchecked = asyncio.run(_service_rate(document, count, validate=False))
        results[name] = {
            "documents": count,
            "service_docs_per_s": round(service, 2),
            "raw_weasyprint_docs_per_s": round(raw, 2),
            "ratio_service_over_raw": round(service / raw, 3),
            "service_without_validation_docs_per_s": round(unchecked, 2),
            "ratio_without_validation_over_raw": round(unchecked / raw, 3),
        }
        print(name, results[name], flush=True)
    out = {
        "bench": "rendering",
        "workers": WORKERS,
        "cpu_count": os.cpu_count(),
        "service": "PdfRenderPool: HTML + PDF/A-3b + Factur-X embed + UBL + CII + XSD/schematron validation",
        "baseline": "multiprocessing spawn Pool, HTML(string).write_pdf() on the same HTML",
        "results": results,
    }
    target = ROOT / "bench/results/rendering.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
