"""Run by test_exactly_once in its own process: the notification service, configured by LEDGERLINE_*
variables, is fed the document.rendered event in argv[1] (a JSON file) and KILLS ITSELF (SIGKILL)
right after the SMTP server accepted the e-mail, before the outcome is committed."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from ledgerline_notification.adapters.orm import DeliveryRow
from ledgerline_notification.adapters.smtp_sender import SendReceipt
from ledgerline_notification.config import NotificationSettings
from ledgerline_notification.entrypoints.app import create_app
from ledgerline_shared.cloudevents import Envelope
from ledgerline_shared.contracts.events import DocumentRendered
from ledgerline_shared.topics import DOCUMENT_RENDERED


@dataclass
class Record:
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    partition: int = 0
    offset: int = 1


async def die(row: DeliveryRow, receipt: SendReceipt) -> None:
    print(f"accepted {row.id}: {receipt.response}", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


async def main(event_file: Path) -> None:
    app = create_app(NotificationSettings())
    app.state.delivery_worker.after_smtp = die
    event = DocumentRendered.model_validate_json(event_file.read_text())
    async with app.router.lifespan_context(app):
        record = Record(
            DOCUMENT_RENDERED,
            (event.number or "").encode(),
            event.model_dump_json(by_alias=True).encode(),
            Envelope.new(source="/tests", type=DOCUMENT_RENDERED).headers(),
        )
        await app.state.runtime.consumer.handle_record(
            record, DocumentRendered, app.state.subscribers.on_rendered, f"notification.{DOCUMENT_RENDERED}"
        )
        await asyncio.sleep(30)  # the worker sends, then the process is killed
    sys.exit("the worker never sent the e-mail")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
