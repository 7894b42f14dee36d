"""The invoice status export shows: invoicing's, from the newest credit note; legacy notes by fallback."""

from __future__ import annotations

from decimal import Decimal

from ledgerline_export.domain.invoice_status import (
    NOT_CREDITED,
    CreditNoteSeen,
    CreditState,
    legacy_status_from_credited_sum,
    newer,
    state_after_notes,
)
from ledgerline_shared.contracts.document import InvoiceStatus

D = Decimal
PARTIAL = CreditNoteSeen(D("40.00"), InvoiceStatus.PARTIALLY_CREDITED, D("40.00"))
CANCELLING = CreditNoteSeen(D("80.00"), InvoiceStatus.CANCELLED, D("120.00"))


def test_the_larger_credited_total_is_the_newer_status_whatever_the_order() -> None:
    partial, cancelled = PARTIAL.state(), CANCELLING.state()
    assert newer(NOT_CREDITED, partial) == partial
    assert newer(partial, cancelled) == cancelled
    assert newer(cancelled, partial) == cancelled  # the older note, read late, changes nothing


def test_a_tie_keeps_what_is_shown() -> None:
    shown = CreditState(InvoiceStatus.CANCELLED, D("120.00"))
    assert newer(shown, CreditState(InvoiceStatus.CREDITED, D("120.00"))) == shown


def test_a_negative_credited_total_counts_by_its_size() -> None:
    note = CreditNoteSeen(D("-40.00"), InvoiceStatus.PARTIALLY_CREDITED, D("-40.00"))
    assert note.state() == CreditState(InvoiceStatus.PARTIALLY_CREDITED, D("40.00"))


def test_an_invoice_arriving_after_its_notes_takes_the_newest_status() -> None:
    assert (
        state_after_notes(D("120.00"), NOT_CREDITED, [CANCELLING, PARTIAL]).status is InvoiceStatus.CANCELLED
    )
    assert state_after_notes(D("120.00"), NOT_CREDITED, []) == NOT_CREDITED


def test_legacy_notes_fall_back_to_the_credited_sum() -> None:
    legacy = [CreditNoteSeen(D("50.00")), CreditNoteSeen(D("70.00"))]
    assert state_after_notes(D("120.00"), NOT_CREDITED, legacy[:1]).status is InvoiceStatus.PARTIALLY_CREDITED
    assert state_after_notes(D("120.00"), NOT_CREDITED, legacy) == CreditState(
        InvoiceStatus.CREDITED, D("120.00")
    )
    assert legacy_status_from_credited_sum(D("120.00"), D("0.00")) is InvoiceStatus.ISSUED


def test_a_legacy_note_read_late_leaves_a_newer_status_alone() -> None:
    # 40 credited by a legacy note, then cancelled (80 more, 120 in all) by a note carrying its status.
    notes = [CreditNoteSeen(D("40.00")), CANCELLING]
    shown = CANCELLING.state()
    assert state_after_notes(D("120.00"), shown, notes) == shown
