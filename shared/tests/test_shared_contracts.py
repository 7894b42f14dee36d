"""The shared contracts: amounts, e-mail header safety, CloudEvents envelopes, tokens."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import jwt
import pytest
from pydantic import ValidationError

from ledgerline_shared.auth import InvalidToken, decode_token, mint_token
from ledgerline_shared.cloudevents import Envelope, NotACloudEvent, decode_headers, parse_envelope
from ledgerline_shared.contracts.document import Recipient
from ledgerline_shared.contracts.events import CallRecord
from ledgerline_shared.contracts.mail_address import UnsafeHeaderValue, check_address, check_display_name
from ledgerline_shared.contracts.money import round_cents
from ledgerline_shared.settings import Settings


@pytest.mark.parametrize(
    ("raw", "cents"), [("0.125", "0.13"), ("0.124", "0.12"), ("-0.125", "-0.13"), ("2.675", "2.68")]
)
def test_amounts_round_half_up_to_the_cent(raw: str, cents: str) -> None:
    assert round_cents(Decimal(raw)) == Decimal(cents)


def test_a_float_amount_is_refused_and_amounts_travel_as_strings() -> None:
    record = {"cdr_id": "1", "account": "A", "started_at": "2026-10-01T10:00:00+02:00", "kind": "sms"}
    with pytest.raises(ValidationError):
        CallRecord.model_validate({**record, "units": 1.5})
    parsed = CallRecord.model_validate({**record, "units": "1.50"})
    assert parsed.units == Decimal("1.50") and '"units":"1.50"' in parsed.model_dump_json()


@pytest.mark.parametrize(
    "name",
    [
        "Jane\r\nBcc: x@y.z",
        "Jane\nDoe",
        "Jane\x00",
        "Jane\u2028Doe",
        "Jane\x85Doe",
        "Jane\u202eeoD",
        "A <b@c.de>",
        "a, b",
        "x;y",
        "",
        " " * 3,
    ],
)
def test_unsafe_display_names_are_refused(name: str) -> None:
    with pytest.raises(UnsafeHeaderValue):
        check_display_name(name)


@pytest.mark.parametrize(
    "address",
    [
        "a@b",
        "a b@c.de",
        "a@b.c\r\nBcc: x@y.z",
        "a..b@c.de",
        ".a@c.de",
        "a.@c.de",
        "a@c.de,b@c.de",
        "<a@c.de>",
        "a@-c.de",
        "é@c.de",
        "a" * 65 + "@c.de",
    ],
)
def test_unsafe_addresses_are_refused(address: str) -> None:
    with pytest.raises(UnsafeHeaderValue):
        check_address(address)


def test_ordinary_contacts_pass_and_recipients_check_themselves() -> None:
    assert check_address("marie.dupont+factures@boulangerie-dupont.fr")
    assert check_display_name("Marie Dupont-Lefèvre")
    with pytest.raises(ValidationError):
        Recipient(name="Eve\r\nBcc: spy@x.test", email="eve@x.test")


def test_envelope_round_trips_through_kafka_headers() -> None:
    envelope = Envelope.new(source="/ledgerline/invoicing", type="invoice.issued", subject="F2026-000001")
    parsed = parse_envelope(decode_headers(envelope.headers()))
    assert (parsed.id, parsed.type, parsed.subject, parsed.correlation_id) == (
        envelope.id,
        "invoice.issued",
        "F2026-000001",
        envelope.id,
    )
    with pytest.raises(NotACloudEvent):
        parse_envelope({"ce_id": "x"})


def test_tokens_expire_and_are_checked_with_the_configured_secret() -> None:
    settings = Settings(jwt_secret="a-secret-of-sufficient-length-0123456789")
    token = mint_token(settings, sub="alice", roles=["billing", "client:C1"])
    principal = decode_token(settings, token)
    assert principal.sub == "alice" and principal.client_ids == {"C1"} and principal.is_staff
    expired = mint_token(settings, sub="alice", roles=["admin"], ttl=dt.timedelta(seconds=-1))
    with pytest.raises(InvalidToken):
        decode_token(settings, expired)
    forged = jwt.encode(
        {"sub": "alice", "roles": ["admin"], "exp": 4102444800}, "other-secret-0123456789abcdef0123"
    )
    with pytest.raises(InvalidToken):
        decode_token(settings, forged)
