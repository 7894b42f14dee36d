"""Every output of one document (PDF, UBL, JSON, CII), rendered in worker processes.

WeasyPrint is CPU-bound and holds the GIL: the async service hands each document to a process pool
so the event loop never blocks and every core renders. Each worker builds its PdfRenderer (font
configuration, stylesheet, templates) and compiles the EN 16931 schematrons once, in its initializer.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ledgerline_rendering.adapters.asset_fetcher import ASSETS_DIR
from ledgerline_rendering.adapters.cii import build_cii
from ledgerline_rendering.adapters.pdf_document import PdfRenderer
from ledgerline_rendering.adapters.ubl import build_ubl
from ledgerline_rendering.adapters.validation import (
    FailedAssert,
    blocking,
    compile_schematrons,
    validate_cii,
    validate_ubl,
)
from ledgerline_rendering.domain.branding import Branding
from ledgerline_shared.contracts.document import Document, DocumentType
from ledgerline_shared.observability import metrics


@dataclass(frozen=True)
class RenderedDocument:
    """What the store writer receives. Previews have no ubl/cii (no legal number: not an e-invoice)."""

    document: Document
    pdf: bytes
    json: bytes
    ubl: bytes | None
    cii: bytes | None


class InvalidEInvoice(ValueError):
    """The XML we built breaks EN 16931: refuse to publish it rather than send a non-compliant invoice."""

    def __init__(self, number: str, failures: list[FailedAssert]) -> None:
        self.failures = failures
        ids = ", ".join(sorted({failure.id for failure in failures}))
        super().__init__(f"{number}: EN 16931 validation failed ({ids})")


def document_json(document: Document) -> bytes:
    return document.model_dump_json(indent=2).encode("utf-8")


def render_document(
    renderer: PdfRenderer, document: Document, branding: Branding, validate: bool = True
) -> RenderedDocument:
    # The seller is the branding of this rendering, in the JSON as on the PDF and in the XML.
    # So are the payment details: the e-mail reads them from the JSON, as the PDF prints them.
    document = document.model_copy(
        update={"seller": branding.seller(), "payment": branding.payment_details(document)}
    )
    json_bytes = document_json(document)
    if document.type is DocumentType.PREVIEW:
        return RenderedDocument(document, renderer.pdf(document, branding), json_bytes, None, None)
    ubl = build_ubl(document, branding)
    cii = build_cii(document, branding)
    if validate:
        # At render time: both XMLs against their XSD and their CEN EN 16931 schematron, so a
        # non-compliant Factur-X is refused rather than sent (the schematrons are compiled once per
        # worker, in its initializer).
        failures = blocking(validate_ubl(ubl)) + blocking(validate_cii(cii))
        if failures:
            raise InvalidEInvoice(document.key, failures)
    return RenderedDocument(document, renderer.pdf(document, branding, cii), json_bytes, ubl, cii)


_worker_renderer: PdfRenderer | None = None
_worker_validate = True


def _init_worker(assets_dir: Path, validate: bool) -> None:
    global _worker_renderer, _worker_validate
    _worker_renderer = PdfRenderer(assets_dir)
    _worker_validate = validate
    if validate:
        compile_schematrons()


def _render_in_worker(document: Document, branding: Branding) -> RenderedDocument:
    if _worker_renderer is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("render worker not initialised")
    return render_document(_worker_renderer, document, branding, _worker_validate)


def _ready() -> bool:
    return _worker_renderer is not None


class PdfRenderPool:
    def __init__(
        self, workers: int | None = None, assets_dir: Path = ASSETS_DIR, validate: bool = True
    ) -> None:
        self.workers = workers or multiprocessing.cpu_count()
        self.assets_dir = assets_dir
        self.validate = validate
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        # spawn: the service process runs Kafka client threads, which fork() must not copy.
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self.assets_dir, self.validate),
        )

    async def start(self) -> None:
        """Start every worker now, so the first documents do not pay for the start-up."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._executor, _ready) for _ in range(self.workers)))

    async def render(self, document: Document, branding: Branding) -> RenderedDocument:
        with metrics.RENDER_SECONDS.labels(document.type.value).time():  # a failed render counts too
            return await self._render(document, branding)

    async def _render(self, document: Document, branding: Branding) -> RenderedDocument:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, _render_in_worker, document, branding)
        except BrokenProcessPool:
            # A worker died (OOM, segfault in a native library): start a fresh pool and try once more.
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_executor()
            return await loop.run_in_executor(self._executor, _render_in_worker, document, branding)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    async def __aenter__(self) -> PdfRenderPool:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)
