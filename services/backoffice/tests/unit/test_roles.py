"""Which actions each role sees: one pure function decides, per spec section 3."""

from ledgerline_backoffice.domain.roles import Action, allowed_actions, is_valid_role

# Actions that are buttons or forms changing something (what readonly must never see).
BUTTONS = {
    Action.SEND,
    Action.REGENERATE,
    Action.CREDIT,
    Action.PROFORMA,
    Action.EDIT_FOLDER,
    Action.RUN_BILLING,
    Action.EXPORT_LIST,
    Action.EXPORT_EXCEL,
    Action.EXPORT_GROUPED_PDF,
    Action.EXPORT_ACCOUNTING,
    Action.SFTP_NEW_PASSWORD,
}


def test_admin_may_do_everything() -> None:
    assert allowed_actions(["admin"]) == frozenset(Action)


def test_billing_sends_credits_runs_and_exports() -> None:
    actions = allowed_actions(["billing"])
    assert {Action.SEND, Action.REGENERATE, Action.CREDIT, Action.PROFORMA, Action.RUN_BILLING} <= actions
    assert Action.EXPORT_EXCEL in actions
    assert Action.OPS_DASHBOARDS not in actions


def test_accounting_sees_exports_but_no_credit_notes_nor_sends() -> None:
    actions = allowed_actions(["accounting"])
    assert {
        Action.EXPORT_ACCOUNTING,
        Action.EXPORT_EXCEL,
        Action.EXPORT_GROUPED_PDF,
        Action.EXPORT_LIST,
    } <= actions
    assert not actions & {Action.CREDIT, Action.SEND, Action.REGENERATE, Action.PROFORMA, Action.EDIT_FOLDER}
    assert Action.RUN_BILLING not in actions


def test_readonly_reads_and_has_no_button_at_all() -> None:
    actions = allowed_actions(["readonly"])
    assert Action.VIEW_DOCUMENTS in actions and Action.VIEW_CLIENTS in actions
    assert not actions & BUTTONS


def test_portal_user_reads_documents_only() -> None:
    assert allowed_actions(["client:C42"]) == frozenset({Action.VIEW_DOCUMENTS})
    assert allowed_actions(["client:"]) == frozenset()


def test_roles_add_up_and_unknown_roles_give_nothing() -> None:
    assert allowed_actions(["readonly", "accounting"]) == allowed_actions(["accounting"])
    assert allowed_actions(["superuser"]) == frozenset()
    assert allowed_actions(["ops"]) == frozenset({Action.OPS_DASHBOARDS})


def test_valid_roles() -> None:
    assert all(is_valid_role(r) for r in ("admin", "billing", "accounting", "readonly", "ops", "client:C1"))
    assert not any(is_valid_role(r) for r in ("root", "client:", "Billing"))
