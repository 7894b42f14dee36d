"""The receipt an export job leaves in its own folder: who asked for it and which file it made.

Why it exists: `export.completed` names a requester and a file, but an event alone must never decide
where a file is mailed (a forged or mistaken event would send any stored file to any address). The
export service writes `exports/<export id>/receipt.json` in the shared document store before it queues
the event; notification mails only the file the receipt lists, only to the requester the receipt
records, and refuses an event that disagrees with it (docs/security.md). Only export writes under
`exports/`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from ledgerline_shared.document_store import DocumentStore, UnsafePath

EXPORTS = "exports"
RECEIPT_NAME = "receipt.json"
_EXPORT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class ReceiptRefused(ValueError):
    """The event does not match what the export service recorded: nothing is mailed."""


@dataclass(frozen=True)
class ExportReceipt:
    export_id: str
    requested_by: str  # the requester's e-mail address, as the export service recorded it
    path: str  # the file, relative to the store root, inside exports/<export id>/

    def to_json(self) -> bytes:
        return json.dumps(
            {"export_id": self.export_id, "requested_by": self.requested_by, "path": self.path}
        ).encode()


def export_folder(export_id: str) -> str:
    if not _EXPORT_ID.fullmatch(export_id):
        raise ReceiptRefused(f"export id {export_id!r} is not a valid export id")
    return f"{EXPORTS}/{export_id}"


def receipt_path(export_id: str) -> str:
    return f"{export_folder(export_id)}/{RECEIPT_NAME}"


def write_receipt(store: DocumentStore, receipt: ExportReceipt) -> None:
    check_inside_folder(receipt.export_id, receipt.path)
    store.write(receipt_path(receipt.export_id), receipt.to_json())


def read_receipt(store: DocumentStore, export_id: str) -> ExportReceipt:
    rel = receipt_path(export_id)
    try:
        raw = json.loads(store.read(rel))
    except (OSError, UnsafePath) as exc:
        raise ReceiptRefused(f"export {export_id} has no receipt in the document store") from exc
    except ValueError as exc:
        raise ReceiptRefused(f"the receipt of export {export_id} is unreadable") from exc
    if not isinstance(raw, dict) or raw.get("export_id") != export_id:
        raise ReceiptRefused(f"the receipt of export {export_id} is not this export's")
    return ExportReceipt(export_id, str(raw.get("requested_by", "")), str(raw.get("path", "")))


def check_inside_folder(export_id: str, path: str) -> None:
    folder = PurePosixPath(export_folder(export_id))
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or pure.parent != folder or pure.name == RECEIPT_NAME:
        raise ReceiptRefused(f"export path {path} is not a file of export {export_id}")


def confirmed_requester(receipt: ExportReceipt, *, path: str, requested_by: str) -> str:
    """The address to mail: the receipt's, once the event agrees with the receipt on file and requester."""
    check_inside_folder(receipt.export_id, path)
    if path != receipt.path:
        raise ReceiptRefused(f"export {receipt.export_id} made {receipt.path}, not {path}")
    if requested_by.strip().lower() != receipt.requested_by.strip().lower():
        raise ReceiptRefused(f"export {receipt.export_id} was not requested by {requested_by}")
    return receipt.requested_by
