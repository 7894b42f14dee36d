"""Call records from a CSV stream (POST /usage.csv, spec section 5): read as the body arrives,
validated as `CallRecord`, stored in batches, each batch its own transaction.

The HTTP route hands the body's chunks over; the benchmark calls the same function with the same
bytes, so what it measures is what the endpoint does.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import AsyncIterable

from pydantic import ValidationError

from ledgerline_invoicing.service.call_record_parsing import CallFields, parse_call_record
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_invoicing.service.usage import MAX_CSV_LINE_CHARS, IngestionResult, RatingContext, ingest
from ledgerline_shared.contracts.events import CallRecord

CSV_FIELDS = ("cdr_id", "account", "started_at", "kind", "duration_s", "units", "caller", "callee")
REQUIRED_FIELDS = ("cdr_id", "account", "started_at", "kind")
CSV_BATCH = 5000  # records per transaction


class CsvRefused(Exception):
    """The stream cannot be read on (HTTP status and why); the batches before it are stored."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _fields(line: str) -> list[str]:
    # A line without quotes splits on its commas exactly as the csv module would read it.
    if '"' in line or "\r" in line:
        return next(csv.reader([line]))
    return line.split(",")


class _CsvIngestion:
    def __init__(self, uow: InvoicingUnitOfWork) -> None:
        self.uow = uow
        self.result = IngestionResult()
        self.ctx = RatingContext()
        self.batch: list[CallRecord | CallFields] = []
        self.columns: list[tuple[str, int]] | None = None  # (field, position in a line) of the header
        self.line_no = 0

    async def flush(self) -> None:
        if self.batch:
            self.result.merge(await ingest(self.uow, self.batch, self.ctx))
            self.batch = []

    async def refuse_if_too_long(self, line: str, number: int) -> None:
        if len(line) > MAX_CSV_LINE_CHARS:
            await self.flush()  # the lines before it are stored, as a batch would have been
            raise CsvRefused(
                413,
                f"line {number} is longer than {MAX_CSV_LINE_CHARS} characters: not a call record"
                " (the lines before it were stored)",
            )

    async def refuse_not_utf8(self, reason: str) -> None:
        await self.flush()  # the lines before it are stored
        raise CsvRefused(
            422, f"line {self.line_no + 1} is not UTF-8 text ({reason}): the lines before it were stored"
        )

    async def take(self, line: str) -> None:
        self.line_no += 1
        line = line.rstrip("\r")
        if not line.strip():
            return
        fields = _fields(line)
        if self.columns is None:
            header = [f.strip() for f in fields]
            missing = [f for f in REQUIRED_FIELDS if f not in header]
            if missing:
                raise CsvRefused(422, f"CSV header lacks {', '.join(missing)}")
            # A field named twice: its last column counts, as a dict built from the line would keep.
            positions = {name: i for i, name in enumerate(header) if name in CSV_FIELDS}
            self.columns = list(positions.items())
            return
        count = len(fields)
        raw = {name: fields[i] or None for name, i in self.columns if i < count}  # "" is absent
        try:
            self.batch.append(parse_call_record(raw))  # CallRecord's validation, fast on the usual shapes
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            cdr_id = str(raw.get("cdr_id") or f"line {self.line_no}")
            self.result.rejected.append({"cdr_id": cdr_id, "reason": f"{field}: {err['msg']}"})
        if len(self.batch) >= CSV_BATCH:
            await self.flush()


def _decoded(decoder: codecs.IncrementalDecoder, chunk: bytes, final: bool = False) -> tuple[str, str | None]:
    """The chunk's text, and why it stopped short if it is not UTF-8 (the text before the bad byte
    is kept)."""
    try:
        return decoder.decode(chunk, final), None
    except UnicodeDecodeError as exc:
        return bytes(exc.object[: exc.start]).decode("utf-8"), exc.reason


async def ingest_csv(uow: InvoicingUnitOfWork, chunks: AsyncIterable[bytes]) -> IngestionResult:
    """Every record of the CSV stream stored (or rejected with why), batch by batch.

    Raises CsvRefused for a header without the required columns (422), a body that is not UTF-8
    (422) or a line too long to be a call record (413); the lines before it are stored."""
    reading = _CsvIngestion(uow)
    decoder = codecs.getincrementaldecoder("utf-8")()  # a character may straddle two chunks
    pending = ""
    async for chunk in chunks:
        text, not_utf8 = _decoded(decoder, chunk)
        pending += text
        *lines, pending = pending.split("\n")
        for line in lines:
            await reading.refuse_if_too_long(line, reading.line_no + 1)
            await reading.take(line)
        if not_utf8:
            await reading.refuse_not_utf8(not_utf8)
        # An endless line is refused as it grows.
        await reading.refuse_if_too_long(pending, reading.line_no + 1)
    text, not_utf8 = _decoded(decoder, b"", final=True)
    pending += text
    if not_utf8:  # the body ends inside a character
        await reading.refuse_not_utf8(not_utf8)
    await reading.take(pending)  # a last line without its newline
    await reading.flush()
    return reading.result
