"""An invoice's status as export shows it: what invoicing decided, carried by its credit notes.

Invoicing decides an invoice's status (issued, partially credited, credited, cancelled) and writes it
on every credit note it emits (`credited_invoice_status`), with the gross credited on the invoice so
far, this note included (`credited_invoice_total`). Export never recomputes it; it only has to pick,
of the notes it has seen, the newest. Notes of one invoice may arrive out of order (other keys, other
partitions), and the credited total only grows: the note with the largest total is the newest.

Credit notes written before invoicing sent these fields (older events still on the topic) carry no
status. For them alone export falls back to the computation it used to do, credited sum against the
invoice's gross (`legacy_status_from_credited_sum`); it cannot tell "cancelled" from "credited".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ledgerline_shared.contracts.document import InvoiceStatus

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class CreditState:
    """An invoice's status and the gross credited on it when that status was decided."""

    status: InvoiceStatus
    credited_total: Decimal


NOT_CREDITED = CreditState(InvoiceStatus.ISSUED, ZERO)


@dataclass(frozen=True, slots=True)
class CreditNoteSeen:
    """What the read model keeps of a credit note for its invoice's status."""

    gross: Decimal  # unsigned, as issued
    invoice_status: InvoiceStatus | None = None  # None: a legacy note, from before the status travelled
    invoice_credited_total: Decimal | None = None

    @property
    def carries_status(self) -> bool:
        return self.invoice_status is not None and self.invoice_credited_total is not None

    def state(self) -> CreditState:
        assert self.invoice_status is not None and self.invoice_credited_total is not None
        # Magnitudes: a producer writing credit notes negative would write this total negative too.
        return CreditState(self.invoice_status, abs(self.invoice_credited_total))


def newer(current: CreditState, candidate: CreditState) -> CreditState:
    """Of two statuses of one invoice, the one decided later: the larger credited total.

    On a tie the current one stays, so a redelivered or older note never changes what is shown."""
    return candidate if candidate.credited_total > current.credited_total else current


def legacy_status_from_credited_sum(invoice_gross: Decimal, credited: Decimal) -> InvoiceStatus:
    """FALLBACK for legacy credit notes only (no status on the event): what export used to compute.

    Credited once the notes cover the invoice's gross, partially before that; never "cancelled"."""
    if credited <= ZERO:
        return InvoiceStatus.ISSUED
    if credited >= invoice_gross:
        return InvoiceStatus.CREDITED
    return InvoiceStatus.PARTIALLY_CREDITED


def state_after_notes(
    invoice_gross: Decimal, current: CreditState, notes: Iterable[CreditNoteSeen]
) -> CreditState:
    """The invoice's state once every note seen for it counts (its notes arrived before it, or a
    legacy note needs the sum): the newest status the notes carry; legacy notes, if any, through
    the fallback over the sum of all the notes."""
    state = current
    seen = list(notes)
    for note in seen:
        if note.carries_status:
            state = newer(state, note.state())
    if any(not note.carries_status for note in seen):
        credited = sum((note.gross for note in seen), ZERO)
        fallback = CreditState(legacy_status_from_credited_sum(invoice_gross, credited), credited)
        state = newer(state, fallback)
    return state
