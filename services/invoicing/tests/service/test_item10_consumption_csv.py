"""Issue 11 item 10: consumption.csv reads through a read-only session, so a slow download never
holds the write lock (SQLite), and its text cells are neutralised against formula injection."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

from invoicing_api_setup import call, get, operator, post, run

from ledgerline_shared.spreadsheet_safety import is_neutral


async def _invoice_with_calls(invoicing: Any, calls: list[dict[str, Any]]) -> str:
    [client] = await operator(invoicing)
    for start in range(0, len(calls), 5000):
        await post(invoicing, "/api/v1/usage", calls[start : start + 5000], expect=200)
    state = await run(invoicing, "2026-03", "production", [client["id"]])
    [number] = state["documents"]
    return str(number)


async def test_item10_formula_cells_are_neutralised(invoicing: Any) -> None:
    hostile = call('=HYPERLINK("http://x")', "ACME1", "33145000000", 60)
    hostile["caller"] = "@SUM(A1:A9)"
    number = await _invoice_with_calls(invoicing, [hostile, call("plain", "ACME1", "33145000000", 60)])
    answer = await invoicing.http.get(
        f"/api/v1/invoices/{number}/consumption.csv", headers=invoicing.token("readonly")
    )
    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    by_id = {r["cdr_id"].lstrip("'"): r for r in rows}
    bad = by_id['=HYPERLINK("http://x")']
    assert bad["cdr_id"] == '\'=HYPERLINK("http://x")' and bad["caller"] == "'@SUM(A1:A9)"
    assert all(is_neutral(cell) for r in rows for cell in r.values())
    assert by_id["plain"]["cdr_id"] == "plain" and by_id["plain"]["cost"] == "0.0200"  # numbers untouched


async def test_item10_a_slow_download_does_not_block_writes(invoicing: Any) -> None:
    calls = [call(f"c{i:05d}", "ACME1", "33145000000", 60) for i in range(3000)]  # ~250 KB of CSV
    number = await _invoice_with_calls(invoicing, calls)
    app = invoicing.app
    first_chunk, release = asyncio.Event(), asyncio.Event()
    received: list[bytes] = []

    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Future()  # the client never disconnects; cancelled once the answer is done
        raise AssertionError("unreachable")

    async def slow_client(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            received.append(message.get("body", b""))
            if message.get("more_body") and not first_chunk.is_set():
                first_chunk.set()
                await release.wait()  # the client reads no further for now

    token = invoicing.token("readonly")["Authorization"].encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": f"/api/v1/invoices/{number}/consumption.csv",
        "raw_path": f"/api/v1/invoices/{number}/consumption.csv".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"invoicing"), (b"authorization", token)],
        "client": ("127.0.0.1", 50000),
        "server": ("invoicing", 80),
        "state": {},
    }
    download = asyncio.create_task(app(scope, receive, slow_client))
    try:
        await asyncio.wait_for(first_chunk.wait(), 30)
        # Mid-download, a write goes through at once instead of queueing behind the reader.
        created = await asyncio.wait_for(
            invoicing.http.post(
                "/api/v1/clients",
                json={
                    "code": "NEW1",
                    "name": "New SARL",
                    "address": {"line1": "1 rue B", "postcode": "75002", "city": "Paris", "country": "FR"},
                },
                headers=invoicing.token("billing"),
            ),
            5,
        )
        assert created.status_code == 201, created.text
    finally:
        release.set()
        await asyncio.wait_for(download, 30)
    lines = b"".join(received).decode().splitlines()
    assert len(lines) == 1 + len(calls)  # the download itself completed, every call in it
    assert (await get(invoicing, "/api/v1/clients", q="NEW1"))[0]["code"] == "NEW1"


async def test_a_previews_consumption_lists_no_other_clients_calls(invoicing: Any) -> None:
    # A preview bills nothing: its download must not list the records no invoice holds yet, which
    # are every client's (it did, through `invoice_number IS NULL`).
    first, _ = await operator(invoicing, clients=2)
    calls = [call("a1", "ACME1", "33145000000", 60), call("b1", "ACME2", "33145000000", 60)]
    await post(invoicing, "/api/v1/usage", calls, expect=200)
    state = await run(invoicing, "2026-03", "preview", [first["id"]])
    [preview] = state["documents"]
    answer = await invoicing.http.get(
        f"/api/v1/invoices/{preview}/consumption.csv", headers=invoicing.token("readonly")
    )
    assert answer.status_code == 200
    assert list(csv.DictReader(io.StringIO(answer.text))) == []
    page = await get(invoicing, f"/api/v1/invoices/{preview}/consumption")
    assert page["total"] == 0 and page["items"] == []
