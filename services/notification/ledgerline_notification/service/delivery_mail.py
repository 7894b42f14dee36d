"""The e-mail of one claimed delivery: the document's PDF (the delivery's version, else the latest
rendered) with the figures of the JSON rendered beside it, or an export's report with its file.

Anything wrong here is found before SMTP: a missing file or a file outside the store is a permanent
failure, a document not rendered yet a temporary one (the rendering may still arrive).
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

import structlog
from pydantic import ValidationError

from ledgerline_notification.adapters.orm import DeliveryRow
from ledgerline_notification.config import NotificationSettings
from ledgerline_notification.domain.delivery import DeliveryKind
from ledgerline_notification.domain.delivery_errors import PermanentDeliveryError, TemporaryDeliveryError
from ledgerline_notification.domain.message import Attachment, DocumentEmail, ExportReportEmail, build_message
from ledgerline_notification.service.unit_of_work import NotificationUnitOfWork
from ledgerline_shared.contracts.document import Document, Recipient
from ledgerline_shared.document_store import DocumentStore, UnsafePath, companion_path

log = structlog.get_logger(__name__)


class DeliveryMail:
    def __init__(
        self,
        reading: Callable[[], NotificationUnitOfWork],
        settings: NotificationSettings,
        store: DocumentStore,
    ) -> None:
        self._reading = reading  # read-only units of work: the documents notification knows
        self._settings = settings
        self._store = store

    async def build(self, row: DeliveryRow) -> tuple[EmailMessage, str | None]:
        """The message, and the path of the file it attaches."""
        sender, reply_to = self._settings.smtp_sender, self._settings.mail_reply_to
        if row.kind == DeliveryKind.EXPORT.value:
            return build_message(self._export_mail(row), sender=sender), row.attachment_path
        async with self._reading() as uow:
            known = await uow.documents.get(row.number)
        path = row.attachment_path or (known.pdf_path if known else None)
        if known is None or path is None:
            raise TemporaryDeliveryError(f"document {row.number} has not been rendered yet", stage="build")
        mail = DocumentEmail(
            delivery_id=row.id,
            document_type=known.type,
            number=row.number,
            pdf=self._read(path),
            recipients=[Recipient.model_construct(name=r["name"], email=r["email"]) for r in row.recipients],
            language=row.language,
            issue_date=known.issue_date,
            document=self._rendered_document(path),
        )
        return build_message(mail, sender=sender, reply_to=reply_to), path

    def _rendered_document(self, pdf_path: str) -> Document | None:
        """The JSON rendered with this very PDF: the e-mail's figures are the attachment's."""
        json_path = companion_path(pdf_path, ".json")
        try:
            return Document.model_validate_json(self._store.read(json_path))
        except (OSError, UnsafePath, ValidationError) as exc:
            # Still worth sending (the PDF says it all), but say why the e-mail is thin.
            log.warning("no rendered JSON beside the PDF", path=json_path, error=str(exc))
            return None

    def _export_mail(self, row: DeliveryRow) -> ExportReportEmail:
        details = row.details or {}
        attachment = None
        if row.attachment_path:
            try:
                local = self._store.local_path(row.attachment_path)
            except UnsafePath as exc:
                refused = f"export path {row.attachment_path} is outside the document store"
                raise PermanentDeliveryError(refused, stage="build") from exc
            if not local.is_file():
                raise PermanentDeliveryError(f"export file {row.attachment_path} is missing", stage="build")
            if local.stat().st_size <= self._settings.export_attachment_max_bytes:
                attachment = Attachment.from_file_name(local.name, self._read(row.attachment_path))
        return ExportReportEmail(
            delivery_id=row.id,
            requested_by=row.recipients[0]["email"] if row.recipients else "",
            kind=str(details.get("kind", "")),
            rows=int(details.get("rows", 0)),
            report=str(details.get("report", "")),
            format=details.get("format"),
            attachment=attachment,
            language=row.language,
        )

    def _read(self, path: str) -> bytes:
        try:
            return self._store.read(path)
        except (FileNotFoundError, UnsafePath) as exc:
            raise PermanentDeliveryError(f"file {path} is not in the document store", stage="build") from exc
