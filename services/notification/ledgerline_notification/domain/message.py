"""The e-mail of one delivery: a document to its client's recipients, or an export's report to
the person who asked for it (spec sections 7 and 8).

Every name and address goes through the shared header-safety rule (contracts/mail_address) first,
so a refused one never reaches a header. The Message-ID comes from the delivery id: sending the
same delivery again (after a crash between the SMTP answer and the bookkeeping) produces the same
Message-ID, which mail systems and people can recognise as a duplicate.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from uuid import UUID

from ledgerline_notification.domain.delivery_errors import InvalidRecipientError, NoRecipientError
from ledgerline_notification.domain.mail_text import Language, language_of, render_mail_text
from ledgerline_shared.contracts.document import Document, DocumentType, Recipient
from ledgerline_shared.contracts.events import DocumentRendered, ExportCompleted
from ledgerline_shared.contracts.mail_address import (
    UnsafeHeaderValue,
    validate_recipient,
)
from ledgerline_shared.formatting import format_amount, format_date, format_period

MESSAGE_ID_DOMAIN = "ledgerline"

_EXPORT_KIND_LABELS: dict[Language, dict[str, str]] = {
    "fr": {"excel": "Excel", "grouped_pdf": "PDF groupé", "accounting": "comptable"},
    "en": {"excel": "Excel", "grouped_pdf": "merged PDF", "accounting": "accounting"},
}
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def message_id_for(delivery_id: UUID, domain: str = MESSAGE_ID_DOMAIN) -> str:
    """`<delivery-uuid@ledgerline>`: the same delivery always gets the same Message-ID."""
    return f"<{delivery_id}@{domain}>"


def attachment_filename(stem: str, extension: str) -> str:
    """A file name that is safe in a Content-Disposition header and on the reader's disk."""
    safe = _UNSAFE_FILENAME.sub("-", stem).strip(".-") or "document"
    return f"{safe[:120]}.{extension}"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes = field(repr=False)
    content_type: str = "application/octet-stream"

    @classmethod
    def from_file_name(cls, filename: str, content: bytes) -> Attachment:
        """Type guessed from the name (xlsx, csv, pdf, txt...); unknown ones are octet-stream."""
        stem, dot, extension = filename.rpartition(".")
        name = attachment_filename(stem, extension) if dot else attachment_filename(filename, "bin")
        content_type, _ = mimetypes.guess_type(name, strict=False)
        return cls(name, content, content_type or "application/octet-stream")


@dataclass(frozen=True)
class DocumentEmail:
    """A rendered document e-mailed to every invoice recipient of its client.

    `document` is the rendered JSON of the attached version: amounts, due date, period, the invoice
    a credit note corrects, the payment details. Without it (not found in the store) the e-mail
    still goes out, naming the document only.
    """

    delivery_id: UUID
    document_type: DocumentType
    number: str  # a preview's key (its id) when it has no number
    pdf: bytes = field(repr=False)
    recipients: Sequence[Recipient]
    language: str = "fr"
    issue_date: dt.date | None = None
    document: Document | None = None

    @classmethod
    def from_rendered(
        cls,
        delivery_id: UUID,
        event: DocumentRendered,
        pdf: bytes,
        *,
        recipients: Sequence[Recipient] | None = None,
        language: str | None = None,
        document: Document | None = None,
    ) -> DocumentEmail:
        """From `document.rendered` and its rendered JSON; a send request passes its own
        (current) recipients and language."""
        return cls(
            delivery_id=delivery_id,
            document_type=event.type,
            number=event.number or str(event.document_id),
            pdf=pdf,
            recipients=list(event.recipients if recipients is None else recipients),
            language=language or event.language,
            issue_date=event.issue_date,
            document=document,
        )


@dataclass(frozen=True)
class ExportReportEmail:
    """The report of a finished export, to its requester, with the exported file if given."""

    delivery_id: UUID
    requested_by: str  # the requester's e-mail address
    kind: str
    rows: int
    report: str = ""
    format: str | None = None
    attachment: Attachment | None = None
    language: str = "fr"
    requester_name: str = ""

    @classmethod
    def from_event(
        cls, delivery_id: UUID, event: ExportCompleted, attachment: Attachment | None, *, language: str = "fr"
    ) -> ExportReportEmail:
        return cls(
            delivery_id=delivery_id,
            requested_by=event.requested_by,
            kind=event.kind,
            rows=event.rows,
            report=event.report,
            format=event.format,
            attachment=attachment,
            language=language,
        )


def parse_sender(sender: str, *, field: str = "sender") -> Address:
    """`Name <address>` or a bare address (settings.smtp_sender, mail_reply_to), checked like any
    contact."""
    try:
        name, address = _split_sender(sender)
        return validate_recipient(name, address)
    except UnsafeHeaderValue as exc:
        raise UnsafeHeaderValue(field, exc.reason) from exc


def _split_sender(sender: str) -> tuple[str, str]:
    text = sender.strip()
    if text.endswith(">") and "<" in text:
        name, _, address = text[:-1].rpartition("<")
        return name.strip(), address
    return "", text


def _safe_recipients(recipients: Sequence[tuple[str, str]]) -> tuple[Address, ...]:
    """(name, address) pairs validated, in order, without a second copy of the same address."""
    addresses: list[Address] = []
    seen: set[str] = set()
    for position, (name, email) in enumerate(recipients, start=1):
        try:
            address = validate_recipient(name.strip(), email.strip())
        except UnsafeHeaderValue as exc:
            # The value itself stays out of the message: it may hold the injection attempt.
            raise InvalidRecipientError(f"recipient {position} refused: {exc}") from exc
        if address.addr_spec.lower() not in seen:
            seen.add(address.addr_spec.lower())
            addresses.append(address)
    if not addresses:
        raise NoRecipientError()
    return tuple(addresses)


def build_message(
    mail: DocumentEmail | ExportReportEmail,
    *,
    sender: str,
    reply_to: str | None = None,
    at: dt.datetime | None = None,
) -> EmailMessage:
    """The complete e-mail of one delivery, ready for the SMTP sender.

    Transactional: `Reply-To` when configured (answers reach the billing team, not the robot that
    sent), and no `List-Unsubscribe`, as nobody can unsubscribe from their invoices.

    Raises NoRecipientError (nobody to send to), InvalidRecipientError (a name or address
    refused by contracts/mail_address), UnsafeHeaderValue (a misconfigured sender or reply-to).
    """
    from_ = parse_sender(sender)
    answer_to = parse_sender(reply_to, field="reply_to") if reply_to else None
    language = language_of(mail.language)
    if isinstance(mail, DocumentEmail):
        to = _safe_recipients([(recipient.name, recipient.email) for recipient in mail.recipients])
        kind, context = str(mail.document_type), _document_context(mail, language)
        seller_email = mail.document.seller.email if mail.document else None
        context["contact"] = answer_to.addr_spec if answer_to else seller_email
        attachment: Attachment | None = Attachment(
            attachment_filename(mail.number, "pdf"), mail.pdf, "application/pdf"
        )
    else:
        to = _safe_recipients([(mail.requester_name, mail.requested_by)])
        kind, context = "export_report", _export_context(mail, language)
        attachment = mail.attachment
    context["signature"] = from_.display_name or from_.addr_spec
    text = render_mail_text(kind, language, context)

    message = EmailMessage(policy=policy.SMTP)
    message["From"] = from_
    message["To"] = to
    if answer_to is not None:
        message["Reply-To"] = answer_to
    message["Subject"] = text.subject
    message["Date"] = format_datetime(at or dt.datetime.now(dt.UTC))
    message["Message-ID"] = message_id_for(mail.delivery_id)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    # Quoted-printable and base64 keep the message 7-bit clean, so any server takes it as is.
    message.set_content(text.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    if text.html is not None:
        message.add_alternative(text.html, subtype="html", charset="utf-8", cte="quoted-printable")
    if attachment is not None:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    # After the parts: set_content() would have dropped it with the other Content-* headers.
    message["Content-Language"] = language
    return message


def _document_context(mail: DocumentEmail, language: Language) -> dict[str, Any]:
    """Every figure already formatted by the shared module the PDF uses: they read the same."""
    context: dict[str, Any] = dict.fromkeys(
        ("due_date", "period", "net_total", "tax_total", "amount_due", "reference_number",
         "reference_date", "reason", "payment", "client_name"),
    )  # fmt: skip
    issue_date = mail.issue_date
    document = mail.document
    if document is not None:
        issue_date = document.issue_date

        def money(value: Decimal) -> str:
            return format_amount(value, language, document.currency)

        reference = document.references[0] if document.references else None
        context.update(
            due_date=format_date(document.due_date, language) if document.due_date else None,
            period=format_period(document.period, language) if document.period else None,
            net_total=money(document.totals.net_total),
            tax_total=money(document.totals.tax_total),
            amount_due=money(document.totals.amount_due),
            reference_number=reference.number if reference else None,
            reference_date=format_date(reference.issue_date, language) if reference else None,
            reason=_optional_name(document.reason),
            payment=document.payment,
            client_name=_optional_name(document.buyer.name),
        )
    context.update(number=mail.number, issue_date=format_date(issue_date, language) if issue_date else None)
    return context


def _export_context(mail: ExportReportEmail, language: Language) -> dict[str, Any]:
    return {
        "kind_label": _EXPORT_KIND_LABELS[language].get(mail.kind, mail.kind),
        "format": mail.format.upper() if mail.format else None,
        "rows": mail.rows,
        "report": mail.report.strip(),
        "filename": mail.attachment.filename if mail.attachment else None,
        "client_name": _optional_name(mail.requester_name),
    }


def _optional_name(name: str | None) -> str | None:
    # Body text only (never a header): one line, no control characters; HTML escapes the rest.
    # (A reason or a name reaching the subject is folded to one line there as well.)
    cleaned = " ".join("".join(c for c in (name or "") if c.isprintable() or c.isspace()).split())
    return cleaned or None


__all__ = [
    "MESSAGE_ID_DOMAIN",
    "Attachment",
    "DocumentEmail",
    "ExportReportEmail",
    "attachment_filename",
    "build_message",
    "message_id_for",
    "parse_sender",
]
