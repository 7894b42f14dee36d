"""The month's invoice list (spec 8: `GET /api/v1/exports/invoice-list`), written to a file then streamed.

Every issued document of the month (invoices, credit notes, proformas, as the list view shows them),
in issue-date then number order, read page by page so a month of any size holds one page in memory.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from ledgerline_export.adapters.invoice_list_files import write_invoice_list_csv, write_invoice_list_xlsx
from ledgerline_export.domain.document_selection import Selection
from ledgerline_export.service.document_feed import DocumentFeed, Progress
from ledgerline_export.service.errors import Refused
from ledgerline_export.service.unit_of_work import NewUnitOfWork

LIST_FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def check_list_request(month: str, fmt: str) -> str:
    if not _MONTH.fullmatch(month):
        raise Refused("month", f"month must be YYYY-MM, not {month!r}", "query")
    fmt = fmt.strip().lower()
    if fmt not in LIST_FORMATS:
        raise Refused("format", f"unknown list format {fmt!r}; one of {', '.join(LIST_FORMATS)}", "query")
    return fmt


async def write_invoice_list(read_uow: NewUnitOfWork, month: str, fmt: str, path: Path) -> int:
    """Writes the list in a worker thread, from read-only units of work; returns the number of rows."""
    loop = asyncio.get_running_loop()
    feed = DocumentFeed(loop, read_uow, Selection(month=month), Progress())
    if fmt == "csv":
        return await asyncio.to_thread(write_invoice_list_csv, path, feed)
    return await asyncio.to_thread(write_invoice_list_xlsx, path, feed, month)
