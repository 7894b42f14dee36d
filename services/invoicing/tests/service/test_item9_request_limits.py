"""Issue 11 item 9: request limits. A body over its route's limit is refused with 413, whether it
announces its length or streams it; a batch of call records over the documented 10,000 is refused
before its records are validated; an endless CSV line is refused; pages and offsets are capped
(422). Nothing stored before is lost or changed by a refused request."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from invoicing_api_setup import call, operator

from ledgerline_invoicing.service.usage import MAX_BATCH_BYTES, MAX_CSV_LINE_CHARS
from ledgerline_shared.http_limits import DEFAULT_MAX_BODY_BYTES, MAX_OFFSET, MAX_PAGE

HEADER = "cdr_id,account,started_at,kind,duration_s,units,caller,callee\n"


async def _clients(invoicing: Any) -> list[dict[str, Any]]:
    answer = await invoicing.http.get("/api/v1/clients", headers=invoicing.token("readonly"))
    assert answer.status_code == 200
    return list(answer.json())


async def _stored_calls(invoicing: Any) -> int:
    from sqlalchemy import func, select

    from ledgerline_invoicing.adapters.orm import CallRecordRow

    async with invoicing.app.state.runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(CallRecordRow)) or 0)


async def test_item9_bodies_over_the_limit_are_refused_with_413(invoicing: Any) -> None:
    [client] = await operator(invoicing)
    h = invoicing.token("billing") | {"Content-Type": "application/json"}
    huge = b'{"name": "' + b"x" * (DEFAULT_MAX_BODY_BYTES + 10) + b'"}'
    announced = await invoicing.http.post("/api/v1/clients", content=huge, headers=h)
    assert announced.status_code == 413, announced.text
    assert "larger than this route accepts" in announced.json()["detail"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the bytes are counted
        yield b'{"name": "'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}'

    streamed = await invoicing.http.post(
        f"/api/v1/clients/{client['id']}/contacts", content=chunks(), headers=h
    )
    assert streamed.status_code == 413, streamed.text
    assert [c["id"] for c in await _clients(invoicing)] == [client["id"]]  # nothing stored


async def test_item9_a_batch_over_10000_records_is_refused_before_validation(invoicing: Any) -> None:
    await operator(invoicing)
    h = invoicing.token("billing")
    await invoicing.http.post("/api/v1/usage", json=[call("kept", "ACME1", "33145000000")], headers=h)
    # 10,001 records of which every one is invalid: the count alone refuses it, quickly.
    invalid = [{"cdr_id": f"x{i}", "kind": "teleport"} for i in range(10_001)]
    started = time.perf_counter()
    answer = await invoicing.http.post("/api/v1/usage", json=invalid, headers=h)
    assert answer.status_code == 413 and "10000" in answer.text
    assert time.perf_counter() - started < 5
    too_big = b"[" + b" " * MAX_BATCH_BYTES + b"]"
    answer = await invoicing.http.post(
        "/api/v1/usage", content=too_big, headers=h | {"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert await _stored_calls(invoicing) == 1


async def test_item9_an_endless_csv_line_is_refused(invoicing: Any) -> None:
    await operator(invoicing)
    h = invoicing.token("billing") | {"Content-Type": "text/csv"}

    async def endless() -> AsyncIterator[bytes]:
        yield (HEADER + "c1,ACME1,2026-03-10T10:00:00+01:00,voice,60,,33140000000,33145000000\n").encode()
        for _ in range(1000):  # 64 MB without a newline, were it read to the end
            yield b"z" * 65536

    answer = await invoicing.http.post("/api/v1/usage.csv", content=endless(), headers=h)
    assert answer.status_code == 413, answer.text
    assert f"longer than {MAX_CSV_LINE_CHARS} characters" in answer.json()["detail"]
    assert await _stored_calls(invoicing) == 1  # the line before it, as the answer says


async def test_item9_pages_and_offsets_are_capped_with_422(invoicing: Any) -> None:
    [client] = await operator(invoicing)
    h = invoicing.token("readonly")
    for path in (
        f"/api/v1/invoices?month=2026-03&page={MAX_PAGE + 1}",
        f"/api/v1/clients/{client['id']}/invoices?page={MAX_PAGE + 1}",
        f"/api/v1/invoices/F2026-000001/consumption?page={MAX_PAGE + 1}",
        "/api/v1/invoices?month=2026-03&page_size=501",
        f"/api/v1/clients?offset={MAX_OFFSET + 1}",
    ):
        answer = await invoicing.http.get(path, headers=h)
        assert answer.status_code == 422, (path, answer.text)
        assert "less than or equal to" in answer.text
    assert (
        await invoicing.http.get(f"/api/v1/invoices?month=2026-03&page={MAX_PAGE}", headers=h)
    ).status_code == 200
