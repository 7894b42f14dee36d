import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from invoicing_factories import BUYER, ISSUE, SELLER, invoice_from_lines

from ledgerline_invoicing.domain.credit import (
    InvoiceStatus,
    credit_note_document,
    plan_cancellation,
    plan_partial_credit,
    remaining_by_rate,
    remaining_creditable,
)
from ledgerline_invoicing.domain.errors import CreditRefused
from ledgerline_invoicing.domain.lines import DraftLine
from ledgerline_invoicing.domain.money import document_totals
from ledgerline_shared.contracts.document import Document, DocumentType
from ledgerline_shared.contracts.events import CreditLine

INVOICE = invoice_from_lines(
    [
        DraftLine("Phone line", D(2), D("20.00"), D("20"), accounting_account="706100"),
        DraftLine("Book", D(1), D("10.00"), D("5.5"), accounting_account="707000"),
    ]
)  # net 50.00, tax 8.00 + 0.55, gross 58.55
NOW = dt.date(2026, 4, 10)
counter = iter(range(1, 10**6))


def credit_line(amount, rate="20", label="Goodwill", quantity="1"):
    return CreditLine(label=label, quantity=D(quantity), unit_price=D(amount), vat_rate=D(rate))


def issue(plan) -> Document:
    return credit_note_document(INVOICE, plan, issue_date=NOW, number=f"AV2026-{next(counter):06d}")


def test_remaining_creditable():
    assert remaining_creditable(D("58.55"), D("0.00")) == D("58.55")
    assert remaining_creditable(D("58.55"), D("18.55")) == D("40.00")
    assert remaining_creditable(D("10.00"), D("12.00")) == D("0.00")


def test_a_credit_note_carries_the_invoice_status_and_credited_total_it_leads_to():
    plan = plan_partial_credit(INVOICE, InvoiceStatus.ISSUED, [], "wrong quantity", [credit_line("20.00")])
    first = issue(plan)
    assert first.credited_invoice_status is InvoiceStatus.PARTIALLY_CREDITED
    assert first.credited_invoice_total == D("24.00")
    cancel = plan_cancellation(INVOICE, InvoiceStatus.PARTIALLY_CREDITED, [first], "client left")
    second = issue(cancel)
    assert second.credited_invoice_status is InvoiceStatus.CANCELLED
    assert second.credited_invoice_total == INVOICE.totals.gross_total


def test_partial_credit_then_credited_by_a_second_one():
    plan = plan_partial_credit(INVOICE, InvoiceStatus.ISSUED, [], "wrong quantity", [credit_line("20.00")])
    assert plan.totals.gross_total == D("24.00")
    assert plan.new_status is InvoiceStatus.PARTIALLY_CREDITED
    assert plan.remaining_after == D("34.55")
    note = issue(plan)
    assert note.type is DocumentType.CREDIT_NOTE
    assert note.references[0].number == "F2026-000001" and note.references[0].issue_date == ISSUE
    assert note.reason == "wrong quantity"
    assert note.lines[0].accounting_account == "706100"
    balances = remaining_by_rate(INVOICE.tax_breakdown, [note.tax_breakdown])
    assert [(b.vat_rate, b.net, b.tax) for b in balances] == [
        (D("20.00"), D("20.00"), D("4.00")),
        (D("5.50"), D("10.00"), D("0.55")),
    ]
    rest = [credit_line("20.00"), credit_line("10.00", rate="5.5")]
    plan2 = plan_partial_credit(INVOICE, InvoiceStatus.PARTIALLY_CREDITED, [note], "rest", rest)
    assert plan2.totals.gross_total == D("34.55")
    assert plan2.new_status is InvoiceStatus.CREDITED


def test_refused_beyond_the_remaining_amount():
    with pytest.raises(CreditRefused) as error:
        plan_partial_credit(INVOICE, InvoiceStatus.ISSUED, [], "r", [credit_line("48.80")])  # 58.56 gross
    assert error.value.field == "lines"
    assert "exceeds the remaining" in error.value.message
    # within the total but beyond what the 5.5% rate carries
    with pytest.raises(CreditRefused) as error:
        plan_partial_credit(INVOICE, InvoiceStatus.ISSUED, [], "r", [credit_line("10.01", rate="5.5")])
    assert error.value.field == "lines"
    assert "5.50%" in error.value.message


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (credit_line("-5"), "lines[0].unit_price"),
        (credit_line("0"), "lines[0].unit_price"),
        (credit_line("5", quantity="0"), "lines[0].quantity"),
        (credit_line("5", quantity="-1"), "lines[0].quantity"),
        (credit_line("0.001"), "lines[0].unit_price"),  # rounds to 0.00
        (credit_line("5", rate="10"), "lines[0].vat_rate"),  # no such rate on the invoice
        (credit_line("5", rate="120"), "lines[0].vat_rate"),
        (credit_line("5", label="  "), "lines[0].label"),
    ],
)
def test_bad_credit_lines_are_refused(line, field):
    with pytest.raises(CreditRefused) as error:
        plan_partial_credit(INVOICE, InvoiceStatus.ISSUED, [], "r", [line])
    assert error.value.field == field


def test_reason_and_lines_are_mandatory():
    for reason in (None, "", "   "):
        with pytest.raises(CreditRefused) as error:
            plan_partial_credit(INVOICE, InvoiceStatus.ISSUED, [], reason, [credit_line("1")])
        assert error.value.field == "reason"
        with pytest.raises(CreditRefused) as error:
            plan_cancellation(INVOICE, InvoiceStatus.ISSUED, [], reason)
        assert error.value.field == "reason"
    with pytest.raises(CreditRefused) as error:
        plan_partial_credit(INVOICE, InvoiceStatus.ISSUED, [], "r", [])
    assert error.value.field == "lines"


@pytest.mark.parametrize(
    ("doc_type", "number", "words"),
    [
        (DocumentType.CREDIT_NOTE, "AV2026-000001", "credit note"),
        (DocumentType.PROFORMA, "PF2026-000001", "proforma"),
        (DocumentType.PREVIEW, None, "preview"),
    ],
)
def test_only_invoices_can_be_credited_or_cancelled(doc_type, number, words):
    other = INVOICE.model_copy(update={"type": doc_type, "number": number})
    with pytest.raises(CreditRefused) as error:
        plan_partial_credit(other, InvoiceStatus.ISSUED, [], "r", [credit_line("1")])
    assert (error.value.field, words in error.value.message) == ("number", True)
    with pytest.raises(CreditRefused) as error:
        plan_cancellation(other, InvoiceStatus.ISSUED, [], "r")
    assert (error.value.field, words in error.value.message) == ("number", True)


@pytest.mark.parametrize("status", [InvoiceStatus.CANCELLED, InvoiceStatus.CREDITED])
def test_closed_invoices_accept_no_credit_nor_cancellation(status):
    with pytest.raises(CreditRefused) as error:
        plan_partial_credit(INVOICE, status, [], "r", [credit_line("1")])
    assert error.value.field == "number"
    with pytest.raises(CreditRefused) as error:
        plan_cancellation(INVOICE, status, [], "r")
    assert error.value.field == "number"


def test_cancelling_twice_is_refused():
    plan = plan_cancellation(INVOICE, InvoiceStatus.ISSUED, [], "wrong client")
    assert plan.new_status is InvoiceStatus.CANCELLED
    with pytest.raises(CreditRefused) as error:
        plan_cancellation(INVOICE, plan.new_status, [issue(plan)], "again")
    assert "already cancelled" in error.value.message


def test_cancellation_without_earlier_credit_mirrors_the_invoice_exactly():
    note = issue(plan_cancellation(INVOICE, InvoiceStatus.ISSUED, [], "wrong client"))
    strip = [line.model_dump(exclude={"line_no"}) for line in INVOICE.lines]
    assert [line.model_dump(exclude={"line_no"}) for line in note.lines] == strip
    assert note.tax_breakdown == INVOICE.tax_breakdown
    assert note.totals == INVOICE.totals
    assert note.seller == SELLER and note.buyer == BUYER and note.due_date is None


def test_cancellation_after_a_partial_credit_credits_each_rates_balance():
    first = issue(plan_partial_credit(INVOICE, InvoiceStatus.ISSUED, [], "r", [credit_line("5.03")]))
    plan = plan_cancellation(INVOICE, InvoiceStatus.PARTIALLY_CREDITED, [first], "cancel the rest")
    lines = [(line.vat_rate, line.quantity, line.unit_price, line.accounting_account) for line in plan.lines]
    assert lines == [(D("20.00"), D(1), D("34.97"), "706100"), (D("5.50"), D(1), D("10.00"), "707000")]
    # 40.00 x 20% = 8.00 invoiced, 1.01 credited (5.03 x 20% = 1.006): 6.99 remains, not round(6.994)
    assert [(s.taxable_amount, s.tax_amount) for s in plan.tax_subtotals] == [
        (D("34.97"), D("6.99")),
        (D("10.00"), D("0.55")),
    ]
    assert first.totals.gross_total + plan.totals.gross_total == INVOICE.totals.gross_total
    assert plan.totals == document_totals(plan.lines, plan.tax_subtotals)


def test_earlier_documents_must_be_credit_notes_of_this_invoice():
    with pytest.raises(ValueError):
        plan_cancellation(INVOICE, InvoiceStatus.PARTIALLY_CREDITED, [INVOICE], "r")


# Any sequence of attempted partial credits and cancellations on any invoice.
rates = st.sampled_from(["0", "5.5", "10", "20"])
money = st.decimals(min_value=D("0.01"), max_value=D("500"), places=2)
invoice_lines = st.lists(
    st.builds(lambda q, p, r: DraftLine("l", D(q), p, D(r)), st.integers(1, 5), money, rates),
    min_size=1,
    max_size=6,
)
small = st.decimals(min_value=D("0.01"), max_value=D("60"), places=2)
action = st.one_of(
    st.just(("cancel",)),
    st.just(("rest",)),  # credit every rate's remaining taxable amount: reaches `credited`
    st.tuples(
        st.just("credit"), st.lists(st.tuples(small, rates, st.integers(1, 3)), min_size=1, max_size=3)
    ),
)


@settings(max_examples=200)
@given(lines=invoice_lines, actions=st.lists(action, max_size=8))
def test_credits_never_exceed_the_invoice_and_statuses_follow(lines, actions):
    invoice = invoice_from_lines(lines)
    status = InvoiceStatus.ISSUED
    notes: list[Document] = []
    for act in actions:
        try:
            if act[0] == "cancel":
                plan = plan_cancellation(invoice, status, notes, "cancel")
            elif act[0] == "rest":
                balances = remaining_by_rate(invoice.tax_breakdown, [n.tax_breakdown for n in notes])
                credit = [
                    CreditLine(label="rest", quantity=D(1), unit_price=b.net, vat_rate=b.vat_rate)
                    for b in balances
                    if b.net > 0
                ]
                plan = plan_partial_credit(invoice, status, notes, "rest", credit)
            else:
                credit = [
                    CreditLine(label="c", quantity=D(q), unit_price=p, vat_rate=D(r)) for p, r, q in act[1]
                ]
                plan = plan_partial_credit(invoice, status, notes, "credit", credit)
        except CreditRefused:
            continue
        assert status in (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_CREDITED)
        notes.append(
            credit_note_document(invoice, plan, issue_date=NOW, number=f"AV2026-{len(notes) + 1:06d}")
        )
        status = plan.new_status
        credited = sum((n.totals.gross_total for n in notes), D(0))
        assert credited <= invoice.totals.gross_total
        for balance in remaining_by_rate(invoice.tax_breakdown, [n.tax_breakdown for n in notes]):
            assert balance.net >= 0 and balance.tax >= 0
        remaining = invoice.totals.gross_total - credited
        assert plan.remaining_after == remaining
        if status is InvoiceStatus.CANCELLED:
            assert remaining == 0
        elif status is InvoiceStatus.CREDITED:
            assert remaining == 0
        else:
            assert remaining > 0
        for note in notes:
            assert note.totals.gross_total > 0
            assert note.totals.gross_total == note.totals.net_total + note.totals.tax_total
    if status in (InvoiceStatus.CANCELLED, InvoiceStatus.CREDITED):
        with pytest.raises(CreditRefused):
            plan_cancellation(invoice, status, notes, "again")
        with pytest.raises(CreditRefused):
            plan_partial_credit(
                invoice,
                status,
                notes,
                "again",
                [
                    CreditLine(
                        label="x",
                        quantity=D(1),
                        unit_price=D("0.01"),
                        vat_rate=invoice.tax_breakdown[0].vat_rate,
                    )
                ],
            )
