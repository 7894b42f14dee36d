"""Formula-injection neutralisation: the one rule lives in ledgerline_shared.spreadsheet_safety, so
export's files and invoicing's consumption.csv neutralise cells alike."""

from __future__ import annotations

from ledgerline_shared.spreadsheet_safety import DANGEROUS_FIRST_CHARACTERS, is_neutral, neutralise

__all__ = ["DANGEROUS_FIRST_CHARACTERS", "is_neutral", "neutralise"]
