"""Issue 13 item 4: one invoice's journey shares one trace id in every service's structured logs.

Through the real stack (four service processes, the real broker, PostgreSQL, a real SMTP server):
an invoice is issued by a billing run, rendered, e-mailed and kept in export's read model; then the
log files the four processes wrote are read, and the invoice's lines carry one and the same trace
id in all four (issued → rendered → delivered → exported). The stack exports its spans to an OTLP
receiver on the loopback (conftest.py): the spans of that trace arrive there from the four services.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from e2e_support import RunningStack, eventually, issue_invoice
from otlp_receiver import OtlpReceiver

SERVICES = ("invoicing", "rendering", "notification", "export")


def _lines_about(log_file: Path, number: str) -> list[dict[str, Any]]:
    """The JSON log lines of one service that name the document (its number as a value)."""
    found = []
    for raw in log_file.read_text(errors="replace").splitlines():
        if number not in raw or not raw.startswith("{"):
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if number in (line.get("number"), line.get("key")):
            found.append(line)
    return found


def _journey(lines: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Each step of the journey, as the line of the service that did it."""

    def handled(service: str, topic: str) -> list[dict[str, Any]]:
        return [
            line
            for line in lines[service]
            if line.get("event") == "event handled" and line.get("topic") == topic
        ]

    return {
        "issued (invoicing)": [line for line in lines["invoicing"] if line.get("event") == "document issued"],
        "rendered (rendering)": handled("rendering", "invoice.issued"),
        "delivered (notification)": [
            line
            for line in lines["notification"]
            if line.get("event") == "delivery attempt" and line.get("status") == "sent"
        ],
        "exported (export)": handled("export", "document.rendered"),
        "rendering known to invoicing": handled("invoicing", "document.rendered"),
        "delivery known to invoicing": handled("invoicing", "invoice.delivered"),
    }


async def test_one_invoice_has_one_trace_id_in_the_four_services_logs(
    stack: RunningStack, otlp_receiver: OtlpReceiver
) -> None:
    number, _client_id = await issue_invoice(stack, period="2026-01")
    h = stack.token("admin")

    async with stack.http("invoicing") as inv:

        async def rendered_and_delivered() -> bool:
            detail = (await inv.get(f"/api/v1/invoices/{number}", headers=h)).json()
            return detail["generation_count"] == 1 and any(
                d["status"] == "delivered" for d in detail["deliveries"]
            )

        await eventually(rendered_and_delivered, 120)
    month = dt.date.today().strftime("%Y-%m")
    async with stack.http("export") as exp:

        async def in_export_read_model() -> bool:
            listing = await exp.get(f"/api/v1/exports/invoice-list?month={month}&format=csv", headers=h)
            return listing.status_code == 200 and number in listing.text

        await eventually(in_export_read_model, 90)
    assert len(stack.mail.for_number(number)) == 1

    log_dir: Path = stack.stack.log_dir

    async def every_step_logged() -> dict[str, list[dict[str, Any]]] | None:
        lines = {service: _lines_about(log_dir / f"{service}.log", number) for service in SERVICES}
        journey = _journey(lines)
        return lines if all(journey.values()) else None

    lines = await eventually(every_step_logged, 60, interval=0.5)
    journey = _journey(lines)
    trace_ids = {step: {line.get("trace_id") for line in found} for step, found in journey.items()}
    the_trace = trace_ids["issued (invoicing)"]
    assert len(the_trace) == 1 and None not in the_trace, trace_ids
    (trace_id,) = the_trace
    assert len(trace_id) == 32 and int(trace_id, 16) != 0
    assert all(ids == the_trace for ids in trace_ids.values()), trace_ids
    # Nothing about this invoice was logged in another trace, in any of the four services.
    for service, found in lines.items():
        others = {line.get("trace_id") for line in found} - {trace_id}
        assert not others, (service, others, found)

    # The same trace reached the collector from each of the four services, each step a span (they
    # leave in batches, about every second: waited for).
    wanted_services = {f"ledgerline-{s}" for s in SERVICES}
    wanted_spans = {"issue invoice", "process invoice.issued", "process document.rendered", "deliver e-mail"}

    async def spans_from_all_four() -> bool:
        spans = otlp_receiver.of_trace(trace_id)
        return {s.service for s in spans} >= wanted_services and {s.name for s in spans} >= wanted_spans

    await eventually(spans_from_all_four, 30, interval=0.5)
    spans = otlp_receiver.of_trace(trace_id)
    issued = [s for s in spans if s.name == "issue invoice"]
    assert len(issued) == 1 and issued[0].service == "ledgerline-invoicing"
    # The invoice's trace starts at its issuing (its root); rendering continues it as a child.
    assert issued[0].parent_span_id == ""
    rendering = [
        s for s in spans if s.service == "ledgerline-rendering" and s.name == "process invoice.issued"
    ]
    assert rendering and rendering[0].parent_span_id == issued[0].span_id
