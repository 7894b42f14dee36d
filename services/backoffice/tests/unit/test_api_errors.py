"""An API's refusal becomes a sentence that says what to do; never JSON, never a trace."""

from ledgerline_backoffice.domain.api_errors import explain, readable_failure


def test_fastapi_field_errors_name_the_field() -> None:
    detail = [{"loc": ["body", "reason"], "msg": "String should have at least 1 character", "type": "x"}]
    text = explain(422, detail)
    assert text == "Reason: String should have at least 1 character. Correct it and try again."


def test_domain_refusal_keeps_its_words() -> None:
    detail = [
        {
            "loc": ["body", "lines", 0, "unit_price"],
            "msg": "credit exceeds the remaining 12.00",
            "type": "refused",
        }
    ]
    assert explain(422, detail).startswith("Unit price: Credit exceeds the remaining 12.00.")


def test_string_detail_and_not_found() -> None:
    assert explain(404, "no document 'F1'") == (
        "That document or record does not exist, or you may not see it. Check the number and try again."
    )
    assert explain(409, "already cancelled").endswith("Reload the page to see where it stands.")


def test_roles_and_server_errors_have_fixed_sentences() -> None:
    assert "role does not allow" in explain(403, "role too weak for this action")
    assert explain(500, {"trace": "x"}, "rendering") == (
        "The rendering service could not do this (500). Try again; if it persists, tell operations."
    )
    assert "{" not in explain(422, {"weird": "shape"})


def test_a_failed_jobs_error_loses_the_exception_name() -> None:
    assert readable_failure("ForeignCurrencyDocument: F1 is in GBP; the FEC is kept in EUR") == (
        "F1 is in GBP; the FEC is kept in EUR."
    )
    assert readable_failure(None) == ""
    assert readable_failure("disk full") == "Disk full."
