"""The accounting format a job asks for, configured from the settings, and its file name."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ledgerline_export.config import ExportSettings
from ledgerline_export.domain.accounting_format import AccountingFormat
from ledgerline_export.domain.datev import DatevBatchError, DatevFormat
from ledgerline_export.domain.fec import FecFormat, fec_file_name
from ledgerline_export.domain.iif import IifFormat
from ledgerline_export.domain.journal_csv import JournalCsvFormat
from ledgerline_export.domain.xero import XeroFormat
from ledgerline_export.service.errors import Refused

ACCOUNTING_FORMATS = ("fec", "datev", "iif", "xero", "csv")


def accounting_format(
    settings: ExportSettings, name: str, date_from: dt.date, date_to: dt.date, created: dt.datetime
) -> AccountingFormat:
    plan = settings.account_plan()
    if name == "fec":
        return FecFormat(plan, separator=settings.fec_separator)
    if name == "datev":
        try:
            return DatevFormat(plan, settings.datev_options(date_from, date_to), created)
        except DatevBatchError as exc:
            # The only range-dependent refusal: a DATEV batch must stay within one fiscal year.
            raise Refused("to", f"DATEV: {exc}") from exc
    if name == "iif":
        return IifFormat(plan, settings.iif_account_names, settings.iif_receivable_name)
    if name == "xero":
        return XeroFormat(
            plan,
            tax_types={Decimal(rate): kind for rate, kind in settings.xero_tax_types.items()},
            account_codes=settings.xero_account_codes,
        )
    if name == "csv":
        return JournalCsvFormat(plan)
    raise Refused("format", f"unknown accounting format {name!r}; one of {', '.join(ACCOUNTING_FORMATS)}")


def accounting_file_name(settings: ExportSettings, name: str, date_from: dt.date, date_to: dt.date) -> str:
    span = f"{date_from:%Y%m%d}-{date_to:%Y%m%d}"
    if name == "fec":
        return fec_file_name(settings.seller_siren, date_to)  # the administration's naming
    return {
        "datev": f"EXTF_Buchungsstapel_{span}.csv",
        "iif": f"quickbooks-{span}.iif",
        "xero": f"xero-sales-invoices-{span}.csv",
        "csv": f"journal-{span}.csv",
    }[name]
