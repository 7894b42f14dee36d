"""Export's settings: the SFTP host key, job concurrency and the accounting plan of every format."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic import Field

from ledgerline_export.domain.datev import DatevOptions
from ledgerline_export.domain.journal_entry import DEFAULT_VAT_ACCOUNTS, AccountPlan
from ledgerline_export.domain.sftp_login_policy import LoginPolicy
from ledgerline_shared.document_store import store_root
from ledgerline_shared.settings import Settings


class ExportSettings(Settings):
    sftp_enabled: bool = True
    # SFTP logins (docs/security.md): password lifetime, lockout after failures, and a pause after each
    sftp_password_max_age_days: float = 90
    sftp_max_failures_per_user: int = 5
    sftp_max_failures_per_address: int = 20
    sftp_failure_window_s: float = 900
    sftp_lockout_s: float = 900
    sftp_failure_delay_s: float = 1.0
    sftp_host_key_path: Path | None = None  # default: <data_dir>/sftp/ssh_host_ed25519_key
    export_workers: int = 2  # export jobs running at once (the machine has 2 cores)
    max_range_days: int = 366

    # The chart of accounts (French PCG defaults); env values of mappings are JSON objects.
    journal_code: str = "VT"
    journal_label: str = "Ventes"
    receivable_account: str = "411000"
    receivable_label: str = "Clients"
    default_revenue_account: str = "706000"
    revenue_labels: dict[str, str] = Field(default_factory=dict)
    vat_accounts: dict[str, str] = Field(
        default_factory=lambda: {format(k, "f"): v for k, v in DEFAULT_VAT_ACCOUNTS.items()}
    )
    accounting_currency: str = "EUR"

    seller_siren: str = "123456789"  # names the FEC file: <SIREN>FEC<closing date>.txt
    fec_separator: str = "\t"
    datev_consultant_number: int = 1001
    datev_client_number: int = 1
    datev_fiscal_year_start_month: int = 1
    datev_account_length: int = 6
    datev_chart: str = ""
    datev_account_map: dict[str, str] = Field(default_factory=dict)
    datev_debtor_accounts: dict[str, str] = Field(default_factory=dict)
    # The debtor account of a client without one in datev_debtor_accounts; unset: "1" followed by
    # datev_account_length zeros (1000000 with the default 6), DATEV's first debtor number.
    datev_default_debtor_account: str | None = None
    iif_receivable_name: str = "Accounts Receivable"
    iif_account_names: dict[str, str] = Field(default_factory=dict)
    xero_tax_types: dict[str, str] = Field(default_factory=dict)
    xero_account_codes: dict[str, str] = Field(default_factory=dict)

    def document_root(self) -> Path:
        return store_root(self.data_dir)

    def sftp_login_policy(self) -> LoginPolicy:
        return LoginPolicy(
            password_max_age=dt.timedelta(days=self.sftp_password_max_age_days),
            max_failures_per_user=self.sftp_max_failures_per_user,
            max_failures_per_address=self.sftp_max_failures_per_address,
            failure_window=dt.timedelta(seconds=self.sftp_failure_window_s),
            lockout=dt.timedelta(seconds=self.sftp_lockout_s),
        )

    def host_key_path(self) -> Path:
        return self.sftp_host_key_path or self.data_dir / "sftp" / "ssh_host_ed25519_key"

    def account_plan(self) -> AccountPlan:
        return AccountPlan(
            journal_code=self.journal_code,
            journal_label=self.journal_label,
            receivable_account=self.receivable_account,
            receivable_label=self.receivable_label,
            default_revenue_account=self.default_revenue_account,
            revenue_labels=dict(self.revenue_labels),
            vat_accounts={Decimal(rate): account for rate, account in self.vat_accounts.items()},
            accounting_currency=self.accounting_currency,
        )

    def datev_options(self, date_from: dt.date, date_to: dt.date) -> DatevOptions:
        return DatevOptions(
            consultant_number=self.datev_consultant_number,
            client_number=self.datev_client_number,
            date_from=date_from,
            date_to=date_to,
            fiscal_year_start_month=self.datev_fiscal_year_start_month,
            account_length=self.datev_account_length,
            chart=self.datev_chart,
            account_map=dict(self.datev_account_map),
            debtor_accounts=dict(self.datev_debtor_accounts),
            default_debtor_account=self.datev_default_debtor_account,
        )


@lru_cache
def get_export_settings() -> ExportSettings:
    return ExportSettings()
