"""Formula-injection neutralisation: the rule lives in `ledgerline_shared.spreadsheet_safety`, shared
with invoicing's CSV files (one copy of the rule)."""

from __future__ import annotations

from ledgerline_shared.spreadsheet_safety import DANGEROUS_FIRST_CHARACTERS, is_neutral, neutralise

__all__ = ["DANGEROUS_FIRST_CHARACTERS", "is_neutral", "neutralise"]
