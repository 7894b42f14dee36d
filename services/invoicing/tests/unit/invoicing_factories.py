"""Small builders shared by the invoicing unit tests (parties, a sample invoice)."""

import datetime as dt
from decimal import Decimal as D

from ledgerline_invoicing.domain.billing import Article, ArticleKind, InvoiceDraft, invoice_document
from ledgerline_invoicing.domain.lines import DraftLine
from ledgerline_invoicing.domain.period import BillingPeriod
from ledgerline_shared.contracts.document import Address, Document, Party

SELLER = Party(
    name="Operator SA", address=Address(line1="1 rue A", postcode="75001", city="Paris", country="FR")
)
BUYER = Party(
    name="Acme", code="ACME", address=Address(line1="2 rue B", postcode="69001", city="Lyon", country="FR")
)
ISSUE = dt.date(2026, 4, 1)

LINE_ARTICLE = Article("LINE", "Phone line", ArticleKind.RECURRING, D("20.00"), D("20"), "706100")
SETUP = Article("SETUP", "Set-up fee", ArticleKind.ONE_TIME, D("49.00"), D("20"), "706200")
GOODWILL = Article("AVOIR", "Commercial credit", ArticleKind.CREDIT_NOTE, D("-10.00"), D("20"), "709000")


def invoice_from_lines(lines: list[DraftLine], number: str = "F2026-000001") -> Document:
    draft = InvoiceDraft(period=BillingPeriod(2026, 3), lines=tuple(lines))
    return invoice_document(draft, seller=SELLER, buyer=BUYER, issue_date=ISSUE, number=number)
