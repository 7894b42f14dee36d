"""Merges stored PDFs into one file with an outline, streaming: bounded memory whatever the range.

pypdf's PdfWriter keeps every page of every source in memory until it writes; for a month of a telecom
operator (thousands of invoices) that grows without bound. This writer instead reads one source at a
time with pypdf, copies each page and every object it reaches (fonts, images, content streams, raw
and still compressed) straight to the output under new object numbers, and keeps only the xref offsets,
the page object numbers and the bookmark titles. The page tree, outline, catalog and xref are written
at the end. Page-tree and catalog objects reached from a page (e.g. an annotation's back link) are not
followed: they become null. Inherited page attributes (Resources, MediaBox, CropBox, Rotate) are copied
onto each page, since the source's page tree is not. Structure-tree links (/StructParents) are dropped.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    PdfObject,
    StreamObject,
    TextStringObject,
)

from ledgerline_export.domain.grouped_pdf import GroupedPdfPart

INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")
DROPPED_PAGE_KEYS = frozenset({"/Parent", "/StructParents"})


@dataclass(frozen=True)
class GroupedPdfResult:
    path: Path
    documents: int
    pages: int


class _Source:
    """Object renumbering for one source PDF."""

    def __init__(self) -> None:
        self.mapping: dict[tuple[int, int], int] = {}
        self.queue: deque[tuple[IndirectObject, int]] = deque()


class StreamingPdfMerger:
    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.pos = 0
        self.offsets: list[int] = [0]  # index = object number; 0 is the free head
        self.page_numbers: list[int] = []
        self.bookmarks: list[tuple[int, str]] = []
        self._write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        self.pages_root = self._reserve()

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.pos += len(data)

    def _reserve(self) -> int:
        self.offsets.append(-1)
        return len(self.offsets) - 1

    def _object(self, num: int, body: bytes) -> None:
        self.offsets[num] = self.pos
        self._write(b"%d 0 obj\n" % num + body + b"\nendobj\n")

    def _ref(self, ref: IndirectObject, src: _Source) -> bytes:
        key = (ref.idnum, ref.generation)
        num = src.mapping.get(key)
        if num is None:
            target = ref.get_object()
            if isinstance(target, DictionaryObject) and target.get("/Type") in ("/Pages", "/Catalog"):
                return b"null"
            num = self._reserve()
            src.mapping[key] = num
            src.queue.append((ref, num))
        return b"%d 0 R" % num

    def _serialise(self, obj: PdfObject | None, src: _Source) -> bytes:
        if obj is None:
            return b"null"
        if isinstance(obj, IndirectObject):
            return self._ref(obj, src)
        if isinstance(obj, StreamObject):
            data: bytes = obj._data  # raw, still encoded: copied as is
            items = [(k, v) for k, v in obj.items() if k != "/Length"]
            head = self._dictionary(items, src, extra=b"/Length %d" % len(data))
            return head + b"\nstream\n" + data + b"\nendstream"
        if isinstance(obj, DictionaryObject):
            return self._dictionary(list(obj.items()), src)
        if isinstance(obj, ArrayObject):
            return b"[" + b" ".join(self._serialise(v, src) for v in obj) + b"]"
        buf = BytesIO()
        obj.write_to_stream(buf)
        return buf.getvalue()

    def _dictionary(self, items: list[tuple[str, PdfObject]], src: _Source, extra: bytes = b"") -> bytes:
        parts = [b"<<"]
        for key, value in items:
            parts.append(self._serialise(NameObject(key), src))
            parts.append(b" ")
            parts.append(self._serialise(value, src))
            parts.append(b"\n")
        parts.append(extra)
        parts.append(b">>")
        return b"".join(parts)

    def add(self, source: Path, title: str) -> int:
        """Appends every page of `source` with one bookmark on its first page; returns its page count."""
        with source.open("rb") as stream:
            reader = PdfReader(stream)
            src = _Source()
            pages = list(reader.pages)
            numbers: list[int] = []
            for page in pages:
                ref = page.indirect_reference
                num = self._reserve()
                if ref is not None:
                    src.mapping[(ref.idnum, ref.generation)] = num
                numbers.append(num)
            for page, num in zip(pages, numbers, strict=True):
                items = [(k, v) for k, v in page.items() if k not in DROPPED_PAGE_KEYS]
                present = {k for k, _ in items}
                for key in INHERITED:
                    if key not in present:
                        inherited = self._inherited(page, key)
                        if inherited is not None:
                            items.append((key, inherited))
                body = self._dictionary(items, src, extra=b"/Parent %d 0 R" % self.pages_root)
                self._object(num, body)
                while src.queue:  # everything this page reached, before reading the next
                    ref, target = src.queue.popleft()
                    self._object(target, self._serialise(ref.get_object(), src))
        if numbers:
            self.bookmarks.append((numbers[0], title))
            self.page_numbers.extend(numbers)
        return len(numbers)

    @staticmethod
    def _inherited(page: DictionaryObject, key: str) -> PdfObject | None:
        node = page.get("/Parent")
        seen = 0
        while isinstance(node, DictionaryObject) and seen < 64:
            raw = dict.get(node, key)
            if raw is not None:
                return raw  # type: ignore[no-any-return]
            node = node.get("/Parent")
            seen += 1
        return None

    def finish(self) -> None:
        kids = b" ".join(b"%d 0 R" % n for n in self.page_numbers)
        self._object(
            self.pages_root,
            b"<</Type /Pages /Kids [" + kids + b"] /Count %d>>" % len(self.page_numbers),
        )
        outlines = self._reserve()
        items = [self._reserve() for _ in self.bookmarks]
        for i, ((page, title), num) in enumerate(zip(self.bookmarks, items, strict=True)):
            buf = BytesIO()
            TextStringObject(title).write_to_stream(buf)
            links = b""
            if i > 0:
                links += b" /Prev %d 0 R" % items[i - 1]
            if i + 1 < len(items):
                links += b" /Next %d 0 R" % items[i + 1]
            self._object(
                num,
                b"<</Title "
                + buf.getvalue()
                + b" /Parent %d 0 R /Dest [%d 0 R /Fit]" % (outlines, page)
                + links
                + b">>",
            )
        if items:
            outline_body = b"<</Type /Outlines /First %d 0 R /Last %d 0 R /Count %d>>" % (
                items[0],
                items[-1],
                len(items),
            )
        else:
            outline_body = b"<</Type /Outlines /Count 0>>"
        self._object(outlines, outline_body)
        catalog = self._reserve()
        self._object(
            catalog,
            b"<</Type /Catalog /Pages %d 0 R /Outlines %d 0 R /PageMode /UseOutlines>>"
            % (self.pages_root, outlines),
        )
        xref_at = self.pos
        size = len(self.offsets)
        lines = [b"xref\n0 %d\n" % size, b"0000000000 65535 f \n"]
        lines += [b"%010d 00000 n \n" % offset for offset in self.offsets[1:]]
        self._write(b"".join(lines))
        trailer = b"trailer\n<</Size %d /Root %d 0 R>>\nstartxref\n%d\n%%%%EOF\n"
        self._write(trailer % (size, catalog, xref_at))


def write_grouped_pdf(
    path: Path, parts: Iterable[GroupedPdfPart], resolve: Callable[[str], Path] = Path
) -> GroupedPdfResult:
    """Writes the merged PDF atomically (a temporary file renamed).

    `resolve` turns a stored pdf path into a local file: the service passes the document store's
    `local_path`, which refuses paths leaving the store.
    """
    tmp = path.with_name(f".{path.name}.part")
    documents = pages = 0
    try:
        with tmp.open("wb", buffering=1 << 20) as out:
            merger = StreamingPdfMerger(out)
            for part in parts:
                pages += merger.add(resolve(part.pdf_path), part.title)
                documents += 1
            merger.finish()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return GroupedPdfResult(path, documents, pages)
