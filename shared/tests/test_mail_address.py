"""Names and addresses that could inject a header or a second address are refused."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import AfterValidator, BaseModel, ValidationError

from ledgerline_shared.contracts import mail_address as header_safety
from ledgerline_shared.contracts.mail_address import (
    UnsafeHeaderValue,
    validate_display_name,
    validate_email_address,
    validate_recipient,
)


@pytest.mark.parametrize(
    "name",
    ["Jean Dupont", "Zoé Müller-Lefèvre", "O'Brien & Sons Ltd.", "Service comptabilité (ACME)", "李小龍", ""],
)
def test_ordinary_names_are_accepted_unchanged(name: str) -> None:
    assert validate_display_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "Eve\r\nBcc: victim@example.com",
        "Eve\nBcc: victim@example.com",
        "Eve\rBcc: victim@example.com",
        "Eve\x00",
        "Eve\tTab",
        "Eve\u2028Bcc: victim@example.com",  # Unicode line separator
        "Eve\x85Bcc: victim@example.com",  # NEL
        "Evil\u202etxt.exe",  # right-to-left override
        "Bcc: victim@example.com",  # group syntax
        "Dupont, Jean",  # a second address
        "Eve; Mallory",
        "Eve <eve@example.com>",
        'Eve "the admin"',
        "Eve\\",
        " padded",
        "x" * 201,
    ],
)
def test_names_that_could_break_a_header_are_refused(name: str) -> None:
    with pytest.raises(UnsafeHeaderValue) as refused:
        validate_display_name(name)
    assert refused.value.field == "name"


@pytest.mark.parametrize(
    "address",
    [
        "jean.dupont@example.com",
        "billing+invoices@sub.example.co.uk",
        "o'brien@example.ie",
        "a_b-c@xn--bcher-kva.de",
        "1234@example.fr",
    ],
)
def test_practical_addresses_are_accepted_unchanged(address: str) -> None:
    assert validate_email_address(address) == address


@pytest.mark.parametrize(
    "address",
    [
        "",
        "victim@example.com\r\nBcc: eve@evil.test",
        "victim@example.com\nBcc: eve@evil.test",
        "victim@example.com\x00",
        "victim@example.com, eve@evil.test",
        "victim@example.com;eve@evil.test",
        "Victim <victim@example.com>",
        "<victim@example.com>",
        "victim@example.com (comment)",
        "vic tim@example.com",
        " victim@example.com",
        "victim",
        "victim@localhost",  # no dot in the domain
        "victim@@example.com",
        "victim@exa_mple.com",
        "victim@-example.com",
        "victim@example..com",
        "victim@example.com.",
        ".victim@example.com",
        "vic..tim@example.com",
        '"quoted"@example.com',
        "zoé@example.com",
        "victim@127.0.0.1",
        "victim@[127.0.0.1]",
        "x" * 65 + "@example.com",
        "x@" + "a" * 250 + ".com",
    ],
)
def test_addresses_other_than_one_plain_address_are_refused(address: str) -> None:
    with pytest.raises(UnsafeHeaderValue) as refused:
        validate_email_address(address)
    assert refused.value.field == "email"


def test_validate_recipient_gives_a_header_ready_address_and_refuses_either_half() -> None:
    address = validate_recipient("Zoé Müller", "zoe@example.com")
    assert (address.display_name, address.addr_spec) == ("Zoé Müller", "zoe@example.com")
    with pytest.raises(UnsafeHeaderValue):
        validate_recipient("Zoé\r\nBcc: eve@evil.test", "zoe@example.com")
    with pytest.raises(UnsafeHeaderValue):
        validate_recipient("Zoé", "zoe@example.com\r\nBcc: eve@evil.test")


def test_the_rule_plugs_into_a_pydantic_model_as_the_invoicing_service_will_use_it() -> None:
    class Contact(BaseModel):
        name: Annotated[str, AfterValidator(validate_display_name)]
        email: Annotated[str, AfterValidator(validate_email_address)]

    assert Contact(name="Jean Dupont", email="jean@example.com").email == "jean@example.com"
    with pytest.raises(ValidationError) as refused:
        Contact(name="Jean\r\nBcc: eve@evil.test", email="jean@example.com, eve@evil.test")
    assert {error["loc"][0] for error in refused.value.errors()} == {"name", "email"}


def test_the_module_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(header_safety.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported, "the module imports something"
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
