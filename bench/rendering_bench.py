"""Rendering throughput: the service's process pool (PDF/A-3b + Factur-X + UBL + CII + validation)
against raw WeasyPrint writing the same HTML to PDF on the same cores. Writes bench/results/rendering.json.

Run: .venv/bin/python bench/rendering_bench.py
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The realistic document factory lives with the rendering tests; reuse it rather than copy it.
sys.path.insert(0, str(ROOT / "services/rendering/tests/unit"))

from measure import RUNS, Target, save, stage  # noqa: E402
from rendering_factory import make_branding, make_consumption, make_document  # noqa: E402

from ledgerline_rendering.adapters.asset_fetcher import ASSETS_DIR  # noqa: E402
from ledgerline_rendering.adapters.pdf_document import PdfRenderer  # noqa: E402
from ledgerline_rendering.adapters.render_pool import PdfRenderPool  # noqa: E402

WORKERS = 2
# (calls in the annex, documents per round, target: service rate / raw rate)
CASES = {
    "one-page invoice": (0, int(os.environ.get("LEDGERLINE_BENCH_ONE_PAGE_DOCS", "80")), Target(">=", 0.9)),
    "500-call consumption annex": (
        500,
        int(os.environ.get("LEDGERLINE_BENCH_ANNEX_DOCS", "40")),
        Target(">=", 1.0),
    ),
}


def _raw_pdf(html: str) -> int:
    from weasyprint import HTML

    pdf = HTML(string=html, base_url=ASSETS_DIR.as_uri() + "/").write_pdf()
    return len(pdf or b"")


async def _service_seconds(pool: PdfRenderPool, document, count: int) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    await asyncio.gather(*(pool.render(document, make_branding()) for _ in range(count)))
    return time.perf_counter() - start


def _raw_seconds(pool, html: str, count: int) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    pool.map(_raw_pdf, [html] * count, chunksize=1)
    return time.perf_counter() - start


async def _case(name: str, calls: int, count: int, target: Target) -> dict[str, object]:
    """Both pools stay up, warmed (WeasyPrint imported, templates and schematrons compiled); rounds
    interleave raw and service on the same cores."""
    css = (ASSETS_DIR / "document.css").read_text()
    document = make_document(consumption=make_consumption(calls) if calls else None)
    # The same HTML the service renders, with its stylesheet inlined (raw WeasyPrint, default fetcher).
    html = PdfRenderer().html(document, make_branding()).replace("</head>", f"<style>{css}</style></head>")
    raws, services = [], []
    with multiprocessing.get_context("spawn").Pool(WORKERS) as raw_pool:
        raw_pool.map(_raw_pdf, [html] * WORKERS)
        async with PdfRenderPool(workers=WORKERS, validate=True) as pool:
            await asyncio.gather(*(pool.render(document, make_branding()) for _ in range(WORKERS)))
            for _ in range(RUNS):
                raws.append(_raw_seconds(raw_pool, html, count))
                services.append(await _service_seconds(pool, document, count))
    return stage(
        f"rendering, {name}, {WORKERS} processes (rate vs raw WeasyPrint)",
        raws,
        services,
        target,
        rate=True,
        extra={"documents_per_round": count, "calls": calls},
    )


def main() -> None:
    stages = [
        asyncio.run(_case(name, calls, count, target)) for name, (calls, count, target) in CASES.items()
    ]
    save(
        "rendering",
        stages,
        {
            "workers": WORKERS,
            "service": "PdfRenderPool: HTML + PDF/A-3b + Factur-X embed + UBL + CII, both checked against "
            "their XSD and EN 16931 schematron",
            "baseline": "multiprocessing spawn Pool, HTML(string).write_pdf() on the same HTML",
        },
    )


if __name__ == "__main__":
    main()
