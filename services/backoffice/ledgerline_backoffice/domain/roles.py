"""Who may do what on the screens: one pure function from a person's roles to the actions shown.

The APIs still decide (spec section 3); this only keeps a page from offering what would be refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from ledgerline_shared.roles import (
    ACCOUNTING,
    ADMIN,
    BILLING,
    CLIENT_PREFIX,
    OPS,
    READONLY,
    STAFF_ROLES,
)

KNOWN_ROLES = STAFF_ROLES | {OPS}


class Action(StrEnum):
    # Reading
    VIEW_DOCUMENTS = "view_documents"  # invoices, credit notes, proformas, PDFs, consumption
    VIEW_CLIENTS = "view_clients"  # the clients list and records
    VIEW_PREVIEWS = "view_previews"  # Documents → Pre-production
    VIEW_DELIVERIES = "view_deliveries"
    # Billing staff
    SEND = "send"  # envelope: resend an invoice, send a proforma
    REGENERATE = "regenerate"  # curved arrow
    CREDIT = "credit"  # Tools → Credit note invoice: method A and partial credit
    PROFORMA = "proforma"  # method B
    EDIT_FOLDER = "edit_folder"  # contacts' recipient flag, one-time items (method C)
    RUN_BILLING = "run_billing"  # preview and production runs
    # Exports (accounting too)
    EXPORT_LIST = "export_list"
    EXPORT_EXCEL = "export_excel"
    EXPORT_GROUPED_PDF = "export_grouped_pdf"
    EXPORT_ACCOUNTING = "export_accounting"
    # One's own access
    SFTP_INFO = "sftp_info"
    SFTP_NEW_PASSWORD = "sftp_new_password"
    OPS_DASHBOARDS = "ops_dashboards"


_READING = {Action.VIEW_DOCUMENTS, Action.VIEW_CLIENTS, Action.VIEW_PREVIEWS, Action.VIEW_DELIVERIES}
_EXPORTS = {Action.EXPORT_LIST, Action.EXPORT_EXCEL, Action.EXPORT_GROUPED_PDF, Action.EXPORT_ACCOUNTING}
_BILLING = {
    Action.SEND,
    Action.REGENERATE,
    Action.CREDIT,
    Action.PROFORMA,
    Action.EDIT_FOLDER,
    Action.RUN_BILLING,
}

BY_ROLE: dict[str, frozenset[Action]] = {
    ADMIN: frozenset(Action),
    BILLING: frozenset(_READING | _BILLING | _EXPORTS | {Action.SFTP_INFO, Action.SFTP_NEW_PASSWORD}),
    ACCOUNTING: frozenset(_READING | _EXPORTS | {Action.SFTP_INFO, Action.SFTP_NEW_PASSWORD}),
    # Readonly reads and sees its SFTP login, but has no button at all (a new password is one).
    READONLY: frozenset(_READING | {Action.SFTP_INFO}),
    OPS: frozenset({Action.OPS_DASHBOARDS}),
}
# A portal user reads its own client's documents (the API filters which).
PORTAL: frozenset[Action] = frozenset({Action.VIEW_DOCUMENTS})


def allowed_actions(roles: Iterable[str]) -> frozenset[Action]:
    actions: set[Action] = set()
    for role in roles:
        if role.startswith(CLIENT_PREFIX) and len(role) > len(CLIENT_PREFIX):
            actions |= PORTAL
        else:
            actions |= BY_ROLE.get(role, frozenset())
    return frozenset(actions)


def is_staff(roles: Iterable[str]) -> bool:
    return any(role in STAFF_ROLES for role in roles)


def portal_clients(roles: Iterable[str]) -> list[str]:
    return sorted(r[len(CLIENT_PREFIX) :] for r in roles if r.startswith(CLIENT_PREFIX))


def is_valid_role(role: str) -> bool:
    return role in KNOWN_ROLES or (role.startswith(CLIENT_PREFIX) and len(role) > len(CLIENT_PREFIX))
