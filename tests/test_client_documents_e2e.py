"""Issue #16 through the whole stack: what a client's accounts-payable clerk receives.

For a French and an English client, a production invoice (a subscription that started mid-month,
voice, SMS and data usage), the credit note that cancels it and a proforma sent on request. Each
e-mail is read as the real SMTP sink received it (plain and HTML parts) and its PDF attachment's
text is read back with pypdf. The figures were worked out by hand below; the e-mail and the PDF
must both show them, written the same way.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import uuid
from decimal import Decimal
from email.message import EmailMessage

import pytest
from e2e_support import RunningStack, eventually
from pypdf import PdfReader

from ledgerline_shared.formatting import format_date

PERIOD = "2026-11"  # 30 days: the subscription from the 16th covers 15/30 of it


def read(text: str) -> str:
    """What a reader sees: entities decoded, every kind of space as one plain space."""
    return re.sub(r"[ \u00a0\u202f]+", " ", html.unescape(text))


def parts(message: EmailMessage) -> tuple[str, str, str, str]:
    """Subject, plain part, HTML part (its visible text) and the attached PDF's text."""
    plain, rich = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and rich is not None
    shown = re.sub(r"<[^>]+>", " ", str(rich.get_content()).split("<body", 1)[1])
    [pdf] = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    reader = PdfReader(io.BytesIO(pdf.get_content()))
    pdf_text = "\n".join(page.extract_text() for page in reader.pages)
    return read(str(message["Subject"])), read(plain.get_content()), read(shown), read(pdf_text)


# Hand-computed: 49,90 × 15/30 = 24,95; voice 120 s + 45 s, billed 120 s + 60 s at 60/60 = 3 min,
# × 0,035 = 0,105 -> 0,11; 2 SMS × 0,05 = 0,10; data 1 500,5 + 754,25 = 2 254,75 MB × 0,001 = 2,25475 -> 2,25.
# Net 27,41; VAT 20 % 5,482 -> 5,48; due 32,89.
EXPECTED = {
    "fr": {
        "amount": "32,89 €",
        "pdf_lines": [
            "49,90 € × 15/30 jours (16/11/2026 – 30/11/2026)",
            "1 24,95 20 % 24,95 €",
            "3 min 0,035 20 % 0,11 €",
            "2 SMS 0,05 20 % 0,10 €",
            "2 254,75 Mo 0,001 20 % 2,25 €",
            "Net à payer 32,89 €",
            "Données 2 2,25 Go 2,25 €",  # the summary: count, volume in Go, no duration
            "Voix 2 0:02:45 0,11 €",  # the time talked; 3 minutes billed (60/60)
        ],
        "mail": ["Net à payer 32,89 €", "Période novembre 2026", "Référence à rappeler"],
        "credit_pdf": ["Avoir sur la facture n° {invoice} du {date}", "Motif : Facturé deux fois"],
        "credit_mail": ["qui corrige la facture n° {invoice} du {date}", "Motif Facturé deux fois"],
        "proforma_subject": "Facture proforma {number} : -60,00 € (pas une demande de paiement)",
        "proforma_pdf": ["-50,00 €", "ne pas payer avant réception de la facture"],
    },
    "en": {
        "amount": "EUR 32.89",
        "pdf_lines": [
            "EUR 49.90 × 15/30 days (16 Nov 2026 – 30 Nov 2026)",
            "1 24.95 20 % EUR 24.95",
            "3 min 0.035 20 % EUR 0.11",
            "2 SMS 0.05 20 % EUR 0.10",
            "2,254.75 MB 0.001 20 % EUR 2.25",
            "Amount due EUR 32.89",
            "Data 2 2.25 GB EUR 2.25",
            "Voice 2 0:02:45 EUR 0.11",
        ],
        "mail": ["Amount due EUR 32.89", "Period November 2026", "Reference to quote"],
        "credit_pdf": ["Credit note for invoice {invoice} of {date}", "Reason: Facturé deux fois"],
        "credit_mail": ["which corrects invoice {invoice} of {date}", "Reason Facturé deux fois"],
        "proforma_subject": "Proforma invoice {number}: EUR -60.00 (not a request for payment)",
        "proforma_pdf": ["EUR -50.00", "do not pay before receiving the invoice"],
    },
}


async def setup_client(stack: RunningStack, language: str) -> tuple[str, str]:
    """A client on a rate plan with a subscription from the 16th and a month of usage."""
    h = stack.token("billing")
    code = f"CD{uuid.uuid4().hex[:8].upper()}"
    async with stack.http("invoicing") as inv:
        for article in (
            {"code": "CD-FIBRE", "label": "Fibre Pro", "kind": "recurring", "unit_price": "49.90"},
            {"code": "CD-USAGE", "label": "Communications", "kind": "usage", "unit_price": "0"},
        ):
            answer = await inv.post(
                "/api/v1/articles",
                json={**article, "vat_rate": "20.00", "accounting_account": "706100"},
                headers=h,
            )
            assert answer.status_code in (201, 409), answer.text
        plan = {
            "code": f"PLAN-{code}",
            "rules": [
                {"prefix": "336", "label": "France mobile", "kind": "voice", "unit_price": "0.0350"},
                {"prefix": "", "label": "SMS France", "kind": "sms", "unit_price": "0.0500"},
                {"prefix": "", "label": "Internet mobile", "kind": "data", "unit_price": "0.0010"},
            ],
        }
        assert (await inv.post("/api/v1/rate-plans", json=plan, headers=h)).status_code == 201
        body = {
            "code": code,
            "name": f"Client {language} {code}",
            "rate_plan_code": plan["code"],
            "language": language,
            "address": {"line1": "8 quai Ouest", "postcode": "33000", "city": "Bordeaux", "country": "FR"},
        }
        client = (await inv.post("/api/v1/clients", json=body, headers=h)).json()
        cid = client["id"]
        contact = {"name": "Compta", "email": f"ap-{code.lower()}@client.test", "invoice_recipient": True}
        assert (await inv.post(f"/api/v1/clients/{cid}/contacts", json=contact, headers=h)).status_code == 201
        subscription = {"article_code": "CD-FIBRE", "quantity": "1", "start_date": "2026-11-16"}
        answer = await inv.post(f"/api/v1/clients/{cid}/subscriptions", json=subscription, headers=h)
        assert answer.status_code == 201, answer.text

        def record(n: int, kind: str, **values: object) -> dict[str, object]:
            started = f"2026-11-2{n}T10:00:00+01:00"
            return {"cdr_id": f"{code}-{n}", "account": code, "started_at": started, "kind": kind, **values}

        calls = [
            record(0, "voice", duration_s=120, caller="33140000000", callee="+33 6 12 34 56 78"),
            record(1, "voice", duration_s=45, caller="33140000000", callee="0033698765432"),
            record(2, "sms", units="1", caller="33612000000", callee="33698765432"),
            record(3, "sms", units="1", caller="33612000000", callee="33698765432"),
            record(4, "data", units="1500.5", callee="internet"),
            record(5, "data", units="754.25", callee="internet"),
        ]
        answer = (await inv.post("/api/v1/usage", json=calls, headers=h)).json()
        assert answer["accepted"] == 6 and not answer["rejected"], answer
        started = await inv.post(
            "/api/v1/billing-runs",
            json={"period": PERIOD, "mode": "production", "client_ids": [cid]},
            headers=h,
        )
        run_id = started.json()["id"]

        async def completed() -> dict | None:
            state = (await inv.get(f"/api/v1/billing-runs/{run_id}", headers=h)).json()
            return state if state["status"] in ("completed", "failed") else None

        state = await eventually(completed, 90)
        assert state["status"] == "completed" and len(state["documents"]) == 1, state
        return state["documents"][0], cid


async def mail_of(stack: RunningStack, number: str) -> EmailMessage:
    async def arrived() -> list[EmailMessage]:
        return stack.mail.for_number(number)

    return (await eventually(arrived, 120))[0]


@pytest.mark.parametrize("language", ["fr", "en"])
async def test_invoice_credit_note_and_proforma_read_the_same_in_the_mail_and_the_pdf(
    stack: RunningStack, language: str
) -> None:
    expected = EXPECTED[language]
    number, cid = await setup_client(stack, language)
    h = stack.token("billing")

    # The invoice, e-mailed automatically after its first rendering.
    subject, plain, shown, pdf = parts(await mail_of(stack, number))
    issue_date = dt.date.today()  # a production invoice is issued on the day of its run
    due = format_date(issue_date + dt.timedelta(days=30), language).replace("\u00a0", " ")
    assert number in subject and expected["amount"] in subject and due in subject, subject
    for line in expected["pdf_lines"]:
        assert line in pdf, line
    for phrase in expected["mail"]:
        assert phrase in plain and phrase.split(" ", 1)[0] in shown, phrase
    for text in (plain, shown, pdf):  # the same amount and due date in both parts and on the PDF
        assert expected["amount"] in text and due in text
        assert "FR76" in text and number in text  # the IBAN and the reference to quote

    # The credit note cancelling it: page 1 and the e-mail name the invoice, its date, the reason.
    async with stack.http("invoicing") as inv:
        answer = await inv.post(
            f"/api/v1/invoices/{number}/cancel", json={"reason": "Facturé deux fois"}, headers=h
        )
        assert answer.status_code == 201, answer.text
        credit = (await inv.get(f"/api/v1/invoices/{number}", headers=h)).json()["credit_notes"][0]
    subject, plain, shown, pdf = parts(await mail_of(stack, credit))
    when = format_date(issue_date, language)
    assert credit in subject and number in subject and expected["amount"] in subject, subject
    page_one = read(PdfReader(io.BytesIO(_pdf_of(stack, credit))).pages[0].extract_text())
    for phrase in expected["credit_pdf"]:
        assert phrase.format(invoice=number, date=when) in page_one, phrase
    for phrase in expected["credit_mail"]:
        assert phrase.format(invoice=number, date=when) in plain, phrase
    assert expected["amount"] in plain and expected["amount"] in shown and expected["amount"] in pdf
    assert "IBAN" not in plain  # nothing to pay

    # A proforma (method B), sent on request only: it says it is not a demand for payment.
    async with stack.http("invoicing") as inv:
        line = {"label": "Goodwill credit", "quantity": "1", "unit_price": "-50.00", "vat_rate": "20.00"}
        answer = await inv.post(f"/api/v1/clients/{cid}/proformas", json={"lines": [line]}, headers=h)
        assert answer.status_code == 201, answer.text
        proforma = answer.json()["number"]
        assert (await inv.post(f"/api/v1/proformas/{proforma}/send", headers=h)).status_code == 202
    subject, plain, shown, pdf = parts(await mail_of(stack, proforma))
    assert subject == expected["proforma_subject"].format(number=proforma)
    for phrase in expected["proforma_pdf"]:
        assert phrase in pdf, phrase
    minus_sixty = expected["proforma_subject"].split(": " if language == "en" else " : ")[1].split(" (")[0]
    assert minus_sixty in plain and minus_sixty in shown and minus_sixty in pdf
    assert "IBAN" not in plain


def _pdf_of(stack: RunningStack, number: str) -> bytes:
    [message] = stack.mail.for_number(number)
    [pdf] = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    content = pdf.get_content()
    assert isinstance(content, bytes)
    return content


def test_expected_figures_add_up() -> None:
    # The hand computation above, redone with Decimal: the test's own expectations are right.
    net = Decimal("24.95") + Decimal("0.11") + Decimal("0.10") + Decimal("2.25")
    assert net == Decimal("27.41") and (net * Decimal("0.2")).quantize(Decimal("0.01")) == Decimal("5.48")
    assert Decimal("2254.75") * Decimal("0.001") == Decimal("2.25475")
