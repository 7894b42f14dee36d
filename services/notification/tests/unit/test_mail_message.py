"""Building the e-mail of a delivery: recipients, language, attachment, Message-ID, refusals."""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import uuid
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from ledgerline_notification.domain.delivery_errors import InvalidRecipientError, NoRecipientError
from ledgerline_notification.domain.message import (
    Attachment,
    DocumentEmail,
    ExportReportEmail,
    attachment_filename,
    build_message,
    message_id_for,
)
from ledgerline_shared.contracts.document import DocumentType, Recipient
from ledgerline_shared.contracts.events import (
    DocumentRendered,
    ExportCompleted,
    FileRef,
    RenderedFiles,
)
from ledgerline_shared.contracts.mail_address import UnsafeHeaderValue
from ledgerline_shared.formatting import language_of

from .conftest import client_document

SENDER = "Ledgerline Billing <billing@ledgerline.test>"
AT = dt.datetime(2026, 2, 1, 8, 30, tzinfo=dt.UTC)


def reparse(message: EmailMessage) -> EmailMessage:
    """What a mail client would read: the message as bytes on the wire, parsed again."""
    parsed = BytesParser(policy=policy.default).parsebytes(message.as_bytes(policy=policy.SMTP))
    assert isinstance(parsed, EmailMessage)
    return parsed


def texts(message: EmailMessage) -> tuple[str, str]:
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    return str(plain.get_content()), str(html.get_content())


def pdf_attachments(message: EmailMessage) -> list[EmailMessage]:
    return [part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]


def unchecked(name: str, email: str) -> Recipient:
    """A recipient that skipped the contract's own validation (an old event, a bypassed path):
    build_message must still refuse it on its own."""
    return Recipient.model_construct(name=name, email=email)


def document_email(**overrides: object) -> DocumentEmail:
    values: dict[str, object] = {
        "delivery_id": uuid.UUID("6f1c2b0e-7d8a-4c59-9a8e-1b2c3d4e5f60"),
        "document_type": DocumentType.INVOICE,
        "number": "F-2026-000123",
        "pdf": b"%PDF-1.7\n" + os.urandom(2048),
        "recipients": [
            Recipient(name="Zoé Müller", email="zoe.muller@client.example"),
            Recipient(name="Accounts Payable", email="ap@client.example"),
        ],
        "language": "fr",
        "issue_date": dt.date(2026, 1, 31),
    }
    values.update(overrides)
    if "document" not in values:  # the rendered JSON of the attached PDF, in the e-mail's type and language
        values["document"] = client_document(
            str(values["number"]), str(values["document_type"]), language_of(str(values["language"]))
        )
    return DocumentEmail(**values)  # type: ignore[arg-type]


def spaced(text: str) -> str:
    """What a reader sees: entities decoded, no-break spaces (in amounts) and the text part's
    column padding compared as one plain space."""
    return re.sub(r"[ \u00a0\u202f]+", " ", html.unescape(text))


def test_an_invoice_goes_to_every_recipient_from_the_configured_sender_with_its_pdf() -> None:
    mail = document_email()
    message = reparse(build_message(mail, sender=SENDER, at=AT))

    to = message["To"].addresses
    assert [(a.display_name, a.addr_spec) for a in to] == [
        ("Zoé Müller", "zoe.muller@client.example"),
        ("Accounts Payable", "ap@client.example"),
    ]
    assert (message["From"].addresses[0].display_name, message["From"].addresses[0].addr_spec) == (
        "Ledgerline Billing",
        "billing@ledgerline.test",
    )
    assert message["Message-ID"] == "<6f1c2b0e-7d8a-4c59-9a8e-1b2c3d4e5f60@ledgerline>"
    assert message["Date"].datetime == AT
    assert message["Content-Language"] == "fr"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Bcc"] is None and message["Cc"] is None
    (pdf,) = pdf_attachments(message)
    assert pdf.get_filename() == "F-2026-000123.pdf"
    assert pdf.get_content() == mail.pdf


def test_non_ascii_names_are_encoded_and_the_wire_format_is_7_bit() -> None:
    raw = build_message(document_email(), sender=SENDER, at=AT).as_bytes(policy=policy.SMTP)
    assert raw.isascii()
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    assert b"=?utf-8?" in header_block and "Zoé".encode() not in header_block


@pytest.mark.parametrize(
    ("document_type", "language", "subject", "phrases"),
    [
        (
            DocumentType.INVOICE,
            "fr",
            "Facture F-2026-000123 – janvier 2026 : 1 234,50 € à régler avant le 02/03/2026",
            ["Net à payer|1 234,50 €", "Date d'échéance|02/03/2026", "Période|janvier 2026",
             "Total HT|1 028,75 €", "TVA|205,75 €", "IBAN|FR76 3000 6000 0112 3456 7890 189",
             "BIC|AGRIFRPPXXX", "Référence à rappeler|F-2026-000123", "billing@ledgerline.test"],
        ),
        (
            DocumentType.INVOICE,
            "en",
            "Invoice F-2026-000123 – January 2026: EUR 1,234.50 due by 2 Mar 2026",
            ["Amount due|EUR 1,234.50", "Due date|2 Mar 2026", "Period|January 2026",
             "IBAN|FR76 3000 6000 0112 3456 7890 189", "Reference to quote|F-2026-000123"],
        ),
        (
            DocumentType.CREDIT_NOTE,
            "fr",
            "Avoir F-2026-000123 sur la facture F2026-000099 : 1 234,50 €",
            ["qui corrige la facture n° F2026-000099 du 31/12/2025", "Motif|Facturé deux fois",
             "Montant de l'avoir|1 234,50 €", "n'est pas une demande de paiement"],
        ),
        (
            DocumentType.CREDIT_NOTE,
            "en",
            "Credit note F-2026-000123 for invoice F2026-000099: EUR 1,234.50",
            ["which corrects invoice F2026-000099 of 31 Dec 2025", "Reason|Facturé deux fois",
             "Credit note amount|EUR 1,234.50", "not a request for payment"],
        ),
        (
            DocumentType.PROFORMA,
            "fr",
            "Facture proforma F-2026-000123 : 1 234,50 € (pas une demande de paiement)",
            ["n'est pas une demande de paiement", "Montant indiqué|1 234,50 €"],
        ),
        (
            DocumentType.PROFORMA,
            "en",
            "Proforma invoice F-2026-000123: EUR 1,234.50 (not a request for payment)",
            ["not a request for payment", "Amount shown|EUR 1,234.50"],
        ),
        (DocumentType.PREVIEW, "fr", "Aperçu de facture – janvier 2026", ["aucune valeur comptable"]),
        (DocumentType.PREVIEW, "en", "Invoice preview – January 2026", ["no accounting value"]),
    ],
)  # fmt: skip
def test_subject_and_both_parts_name_the_figures_in_the_client_language(
    document_type: DocumentType, language: str, subject: str, phrases: list[str]
) -> None:
    message = reparse(
        build_message(document_email(document_type=document_type, language=language), sender=SENDER, at=AT)
    )
    assert spaced(message["Subject"]) == subject
    assert message["Content-Language"] == language
    plain, html_part = texts(message)
    for phrase in phrases:
        assert phrase.replace("|", " ") in spaced(plain), phrase
        # The same words in the HTML part, where `|` parts sit in two cells of a table row.
        for piece in phrase.split("|"):
            assert piece in spaced(html_part), piece
    assert f'lang="{language}"' in html_part
    assert plain.rstrip().endswith("Ledgerline Billing")
    # Proformas and credit notes never show bank details: nothing is to be paid.
    assert ("IBAN" in plain) is (document_type is DocumentType.INVOICE)


def test_the_plain_part_is_read_off_the_html_part() -> None:
    plain, html_part = texts(reparse(build_message(document_email(), sender=SENDER, at=AT)))
    assert "<" not in plain and "&nbsp;" not in plain and "&#39;" not in plain
    # Every word of the text part is in the HTML part's body, in the same order.
    body = spaced(html_part[html_part.index("<body") :])
    position = 0
    for word in spaced(plain).split():
        found = body.find(word, position)
        assert found >= 0, word
        position = found + len(word)


def test_reply_to_is_set_when_configured_and_there_is_never_a_list_unsubscribe() -> None:
    mail = document_email()
    plain_message = reparse(build_message(mail, sender=SENDER, at=AT))
    assert plain_message["Reply-To"] is None and plain_message["List-Unsubscribe"] is None
    # Without Reply-To the contact named in the body is the seller's address.
    assert "billing@ledgerline.test" in texts(plain_message)[0]

    answered = reparse(build_message(mail, sender=SENDER, reply_to="Compta <compta@ledgerline.test>", at=AT))
    assert [(a.display_name, a.addr_spec) for a in answered["Reply-To"].addresses] == [
        ("Compta", "compta@ledgerline.test")
    ]
    assert answered["List-Unsubscribe"] is None
    plain, html = texts(answered)
    assert "compta@ledgerline.test" in plain and 'href="mailto:compta@ledgerline.test"' in html


def test_a_reply_to_that_could_inject_a_header_is_refused() -> None:
    with pytest.raises(UnsafeHeaderValue) as refused:
        build_message(
            document_email(), sender=SENDER, reply_to="compta@ledgerline.test\r\nBcc: spy@evil.test"
        )
    assert refused.value.field == "reply_to"


def test_without_its_rendered_json_the_email_still_names_the_document() -> None:
    message = reparse(build_message(document_email(document=None), sender=SENDER, at=AT))
    assert message["Subject"] == "Facture F-2026-000123 du 31/01/2026"
    plain, _ = texts(message)
    assert "facture n° F-2026-000123 du 31/01/2026" in spaced(plain)
    assert "Net à payer" not in plain


@pytest.mark.parametrize(("given", "used"), [("en-GB", "en"), ("EN", "en"), ("de", "fr"), ("", "fr")])
def test_a_language_without_templates_falls_back_to_french(given: str, used: str) -> None:
    message = build_message(document_email(language=given), sender=SENDER, at=AT)
    assert message["Content-Language"] == used


def test_the_html_part_escapes_client_data() -> None:
    hostile = client_document(buyer_name="<script>alert(1)</script>", reason='<img src=x onerror="x()">')
    mail = document_email(document_type=DocumentType.CREDIT_NOTE, document=hostile)
    message = reparse(build_message(mail, sender=SENDER))
    plain, html = texts(message)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "&lt;img" in html
    assert "Bonjour <script>alert(1)</script>," in plain  # plain text is never interpreted
    assert '<img src=x onerror="x()">' in plain


def test_the_message_id_is_derived_from_the_delivery_id_only() -> None:
    delivery = uuid.uuid4()
    first = build_message(document_email(delivery_id=delivery), sender=SENDER, at=AT)
    resent = build_message(document_email(delivery_id=delivery), sender=SENDER)
    other = build_message(document_email(delivery_id=uuid.uuid4()), sender=SENDER, at=AT)
    assert (
        first["Message-ID"] == resent["Message-ID"] == message_id_for(delivery) == f"<{delivery}@ledgerline>"
    )
    assert other["Message-ID"] != first["Message-ID"]


def test_a_repeated_address_gets_one_copy() -> None:
    recipients = [
        Recipient(name="A", email="ap@client.example"),
        Recipient(name="B", email="AP@client.example"),
    ]
    message = build_message(document_email(recipients=recipients), sender=SENDER)
    assert [a.addr_spec for a in message["To"].addresses] == ["ap@client.example"]


def test_no_recipient_is_a_failed_delivery_with_that_reason() -> None:
    with pytest.raises(NoRecipientError, match="no invoice recipient"):
        build_message(document_email(recipients=[]), sender=SENDER)


@pytest.mark.parametrize(
    "recipient",
    [
        unchecked(name="Eve\r\nBcc: spy@evil.test", email="eve@client.example"),
        unchecked(name="Eve", email="eve@client.example\r\nBcc: spy@evil.test"),
        unchecked(name="Eve", email="eve@client.example, spy@evil.test"),
        unchecked(name="Eve, Bcc", email="eve@client.example"),
        unchecked(name="Eve <spy@evil.test>", email="eve@client.example"),
        unchecked(name="Eve", email="Spy <spy@evil.test>"),
        unchecked(name="Eve", email="eve@localhost"),
    ],
)
def test_build_message_refuses_a_recipient_that_could_inject_a_header(recipient: Recipient) -> None:
    good = Recipient(name="Jean", email="jean@client.example")
    with pytest.raises(InvalidRecipientError) as refused:
        build_message(document_email(recipients=[good, recipient]), sender=SENDER)
    assert refused.value.stage == "build"
    assert "recipient 2 refused" in str(refused.value)
    assert "spy@evil.test" not in str(refused.value)  # the injected text is not echoed


def test_a_misconfigured_sender_is_refused() -> None:
    with pytest.raises(UnsafeHeaderValue) as refused:
        build_message(document_email(), sender="Billing <billing@ledgerline.test>\r\nBcc: spy@evil.test")
    assert refused.value.field == "sender"


def test_an_odd_document_number_gives_a_safe_file_name() -> None:
    assert attachment_filename("F/2026/0001", "pdf") == "F-2026-0001.pdf"
    assert attachment_filename('../"x\r\n', "pdf") == "x.pdf"
    assert attachment_filename("", "pdf") == "document.pdf"


def test_from_rendered_takes_number_type_language_and_recipients_of_the_event() -> None:
    ref = FileRef(path="x", sha256="0" * 64, size=1)
    event = DocumentRendered(
        number="AV-2026-9",
        document_id=uuid.uuid4(),
        type=DocumentType.CREDIT_NOTE,
        version=1,
        generation_count=1,
        files=RenderedFiles(pdf=ref, ubl=ref, json=ref),
        issue_date=dt.date(2026, 2, 3),
        language="en",
        recipients=[Recipient(name="Old Contact", email="old@client.example")],
    )
    mail = DocumentEmail.from_rendered(uuid.uuid4(), event, b"%PDF-")
    assert (mail.number, mail.document_type, mail.language) == ("AV-2026-9", DocumentType.CREDIT_NOTE, "en")
    # A send request brings the current contacts: they replace the ones of the issue date.
    resend = DocumentEmail.from_rendered(
        uuid.uuid4(), event, b"%PDF-", recipients=[Recipient(name="New", email="new@client.example")]
    )
    message = build_message(resend, sender=SENDER)
    assert [a.addr_spec for a in message["To"].addresses] == ["new@client.example"]
    assert message["Subject"] == "Credit note AV-2026-9"


@pytest.mark.parametrize(
    ("language", "subject", "phrase"),
    [
        ("fr", "Votre export comptable (FEC) est prêt", "terminé : 42 lignes"),
        ("en", "Your accounting export (FEC) is ready", "complete: 42 rows"),
    ],
)
def test_the_export_report_goes_to_the_requester_with_the_report_and_the_file(
    language: str, subject: str, phrase: str
) -> None:
    exported = os.urandom(4096)
    event = ExportCompleted(
        export_id="exp-1",
        requested_by="alice@operator.example",
        kind="accounting",
        format="fec",
        path="exports/exp-1/FEC20260131.txt",
        rows=42,
        report="42 entries, balanced.\nDebit = Credit = 12 345,67",
    )
    attachment = Attachment.from_file_name("FEC20260131.txt", exported)
    mail = ExportReportEmail.from_event(uuid.uuid4(), event, attachment, language=language)
    message = reparse(build_message(mail, sender=SENDER, at=AT))

    assert [a.addr_spec for a in message["To"].addresses] == ["alice@operator.example"]
    assert message["Subject"] == subject
    plain, html = texts(message)
    assert phrase in plain.replace("\u00a0", " ")
    assert "Debit = Credit = 12 345,67" in plain and "Debit = Credit = 12 345,67" in html
    (part,) = list(message.iter_attachments())
    assert part.get_filename() == "FEC20260131.txt"
    assert part.get_content_type() == "text/plain"
    assert part.get_payload(decode=True) == exported


def test_an_excel_export_attachment_keeps_its_type() -> None:
    attachment = Attachment.from_file_name("invoices 2026-01.xlsx", b"PK\x03\x04")
    assert attachment.filename == "invoices-2026-01.xlsx"
    assert attachment.content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_an_export_report_without_a_valid_requester_is_refused() -> None:
    mail = ExportReportEmail(uuid.uuid4(), requested_by="alice\r\nBcc: spy@evil.test", kind="excel", rows=1)
    with pytest.raises(InvalidRecipientError):
        build_message(mail, sender=SENDER)
    mail = ExportReportEmail(
        uuid.uuid4(),
        requested_by="alice@operator.example",
        kind="excel",
        rows=1,
        requester_name="Alice\r\nBcc: spy@evil.test",
    )
    with pytest.raises(InvalidRecipientError):
        build_message(mail, sender=SENDER)
