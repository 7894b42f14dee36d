"""Documents handed to a file writer running in a worker thread, page by page: bounded memory.

The writers (XlsxWriter, pypdf, the accounting formats) are synchronous and slow, so they run in a
thread; they pull documents from this iterator, which fetches each page from the read model on the
event loop (`run_coroutine_threadsafe`) and parses the documents in the thread. At most one page of
rows is held at a time. `progress` counts the documents handed out; `cancel` stops the iteration
between two documents (the service is stopping).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from ledgerline_export.domain.document_selection import Cursor, Selection, StoredDocument
from ledgerline_export.domain.issued_document import IssuedDocument
from ledgerline_export.service.unit_of_work import NewUnitOfWork

PAGE = 200
PAGE_TIMEOUT_S = 120.0


class FeedCancelled(Exception):
    """The service is stopping: the export is abandoned here and resumed at the next start."""


@dataclass
class Progress:
    done: int = 0
    total: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)

    def check(self) -> None:
        if self.cancel.is_set():
            raise FeedCancelled()


class DocumentFeed:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        read_uow: NewUnitOfWork,
        selection: Selection,
        progress: Progress,
        *,
        counts: bool = True,
    ) -> None:
        self._loop = loop
        self._read_uow = read_uow  # read-only units of work: one short transaction per page
        self._selection = selection
        self._progress = progress
        self._counts = counts  # False when another stage reports progress (the PDF merge)

    async def _page(self, after: Cursor | None) -> list[StoredDocument]:
        async with self._read_uow() as uow:
            return await uow.documents.page(self._selection, after, PAGE)

    def stored(self) -> Iterator[StoredDocument]:
        after: Cursor | None = None
        while True:
            self._progress.check()
            future = asyncio.run_coroutine_threadsafe(self._page(after), self._loop)
            page = future.result(PAGE_TIMEOUT_S)
            for row in page:
                self._progress.check()
                yield row
                if self._counts:
                    self._progress.done += 1
            if len(page) < PAGE:
                return
            after = (page[-1].issue_date, page[-1].number)

    def __iter__(self) -> Iterator[IssuedDocument]:
        for row in self.stored():
            yield row.issued()
