"""The report e-mailed with each accounting export: counts, totals and the balance check."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from ledgerline_export.domain.issued_document import IssuedDocument, IssuedType
from ledgerline_export.domain.journal_entry import ZERO, JournalEntry

_TYPE_KEYS = {kind: kind.value for kind in IssuedType}


@dataclass
class AccountingReport:
    format: str
    documents: Counter[str] = field(default_factory=Counter)  # by type, exported
    excluded: Counter[str] = field(default_factory=Counter)  # reason -> count
    entries: int = 0
    lines: int = 0  # journal lines (accounting movements)
    rows: int = 0  # data rows written in the file
    debit: Decimal = Decimal("0.00")
    credit: Decimal = Decimal("0.00")
    net_revenue: Decimal = Decimal("0.00")  # signed: invoices minus credit notes
    vat: Decimal = Decimal("0.00")
    unbalanced: list[str] = field(default_factory=list)
    excluded_numbers: dict[str, list[str]] = field(default_factory=dict)  # reason -> the first numbers

    def exclude(self, doc: IssuedDocument, reason: str, *, name: bool = False) -> None:
        self.excluded[reason] += 1
        if name:  # documents someone must book by hand: the report names them (the first 50)
            numbers = self.excluded_numbers.setdefault(reason, [])
            if len(numbers) < 50:
                numbers.append(doc.number)

    def add_entry(self, entry: JournalEntry) -> None:
        doc, debit, credit = entry.document, entry.debit, entry.credit
        self.documents[_TYPE_KEYS[doc.type]] += 1  # the enum's .value is a slow property
        self.entries += 1
        self.lines += len(entry.lines)
        self.debit += debit
        self.credit += credit
        if debit != credit:
            self.unbalanced.append(doc.number)
        # doc.signed_net and doc.signed_vat_total, the same arithmetic without the properties' calls and
        # generator: a third of this method's time on a million-line export.
        sign = -1 if doc.type is IssuedType.CREDIT_NOTE else 1  # doc.sign, without the property call
        self.net_revenue += doc.net * sign
        vat = ZERO
        for amount in doc.vat:
            vat += amount.tax
        self.vat += vat * sign

    @property
    def balanced(self) -> bool:
        return self.debit == self.credit and not self.unbalanced

    def text(self) -> str:
        out = [
            f"Accounting export ({self.format})",
            f"Documents exported: {sum(self.documents.values())}"
            + "".join(f", {kind}: {n}" for kind, n in sorted(self.documents.items())),
        ]
        for reason, n in sorted(self.excluded.items()):
            named = self.excluded_numbers.get(reason, [])
            more = f" and {n - len(named)} more" if n > len(named) else ""
            out.append(f"Excluded ({reason}): {n}" + (f": {', '.join(named)}{more}" if named else ""))
        out += [
            f"Journal entries: {self.entries}, lines: {self.lines}, file rows: {self.rows}",
            f"Net revenue: {self.net_revenue}, VAT: {self.vat}",
            f"Total debit: {self.debit}, total credit: {self.credit}",
            "Balance check: OK" if self.balanced else f"Balance check: FAILED {self.unbalanced[:20]}",
        ]
        return "\n".join(out) + "\n"
