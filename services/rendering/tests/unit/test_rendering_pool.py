import asyncio
import io

import facturx
import pytest
from pypdf import PdfReader
from rendering_factory import make_branding, make_credit_note, make_document, make_preview

from ledgerline_rendering.adapters.render_pool import PdfRenderPool


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_pool_renders_on_worker_processes_without_blocking_the_loop() -> None:
    async with PdfRenderPool(workers=2) as pool:
        ticks = 0

        async def heartbeat() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        beat = asyncio.create_task(heartbeat())
        invoice, credit, preview = await asyncio.gather(
            pool.render(make_document(), make_branding()),
            pool.render(make_credit_note(), make_branding()),
            pool.render(make_preview(), make_branding()),
        )
        beat.cancel()
    assert ticks > 5  # the loop kept running while the workers rendered
    assert facturx.get_facturx_xml_from_pdf(invoice.pdf)[1] == invoice.cii
    assert "F2026-000042" in PdfReader(io.BytesIO(credit.pdf)).pages[0].extract_text()
    assert preview.ubl is None and b'"type": "preview"' in preview.json
