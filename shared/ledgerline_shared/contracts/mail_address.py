"""Which contact names and e-mail addresses may ever reach an e-mail header (spec section 3).

One rule for every service: invoicing applies it where contacts enter (check_display_name,
check_address in its schemas and in the Recipient contract), notification again before any
message is built (validate_recipient). Standard library only; raising `UnsafeHeaderValue` (a
`ValueError`) lets a pydantic validator use these functions as they are.

The rule refuses rather than repairs: a value that could start a second header (CR, LF, NUL and
other control characters, Unicode line separators) or smuggle a second address (`,` `;` `<` `>`
`"` `:` `\\` in a name; anything but one plain `local@domain` in an address) is an input error.
"""

from __future__ import annotations

import re
import unicodedata
from email.errors import HeaderParseError
from email.headerregistry import Address, HeaderRegistry

MAX_NAME_LENGTH = 200
MAX_ADDRESS_LENGTH = 254  # RFC 5321 path limit minus the angle brackets
MAX_LOCAL_PART_LENGTH = 64

# Characters that have a meaning in an address header: list separators, the angle brackets
# around an address, group syntax, quoting. None belongs in a person's or a company's name.
_NAME_FORBIDDEN = frozenset(',;:<>"\\')

# RFC 5322 dot-atom for the local part (no quoted local parts: nobody's invoices go there).
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
# Host names: LDH labels, at least two of them, a top-level label that is not all digits.
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")

_headers = HeaderRegistry()


class UnsafeHeaderValue(ValueError):
    """A name or an address that must not be put in an e-mail header. `field` says which."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _is_control(char: str) -> bool:
    # Cc: C0/C1 controls incl. CR, LF, NUL, TAB, NEL; Zl/Zp: U+2028/U+2029, which some mail
    # clients and log viewers treat as line ends; Cf: invisible format characters such as the
    # bidi overrides used to disguise a name, except the joiners some scripts and emoji need.
    return unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"} and char not in "\u200c\u200d"


def validate_display_name(name: str, *, field: str = "name") -> str:
    """Return `name` unchanged if it can be a display name in an address header, else raise.

    An empty name is allowed (the address is then shown alone).
    """
    if len(name) > MAX_NAME_LENGTH:
        raise UnsafeHeaderValue(field, f"longer than {MAX_NAME_LENGTH} characters")
    for char in name:
        if _is_control(char):
            raise UnsafeHeaderValue(field, f"control or line-break character U+{ord(char):04X}")
        if char in _NAME_FORBIDDEN:
            raise UnsafeHeaderValue(field, f"character {char!r} is not allowed in a name")
    if name != name.strip():
        raise UnsafeHeaderValue(field, "leading or trailing whitespace")
    return name


def validate_email_address(address: str, *, field: str = "email") -> str:
    """Return `address` unchanged if it is one plain `local@domain.tld` address, else raise.

    Practical rule: ASCII dot-atom local part, a host name with at least one dot, no spaces,
    no comments, no display name; and the standard library must parse it back to exactly this
    one address with no defect.
    """
    if not address:
        raise UnsafeHeaderValue(field, "empty address")
    if len(address) > MAX_ADDRESS_LENGTH:
        raise UnsafeHeaderValue(field, f"longer than {MAX_ADDRESS_LENGTH} characters")
    if not address.isascii() or not address.isprintable() or any(c.isspace() for c in address):
        raise UnsafeHeaderValue(field, "only printable ASCII without spaces is accepted")
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise UnsafeHeaderValue(field, "expected local@domain")
    if len(local) > MAX_LOCAL_PART_LENGTH or not _LOCAL_PART.fullmatch(local):
        raise UnsafeHeaderValue(field, "invalid local part")
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise UnsafeHeaderValue(field, "invalid domain (a host name with a dot is required)")
    _check_parses_as_one_address(address, field)
    return address


def _check_parses_as_one_address(address: str, field: str) -> None:
    # Second opinion from the parser that will build the real header.
    try:
        parsed = Address(addr_spec=address)
        header = _headers("To", address)
    except (HeaderParseError, ValueError, IndexError) as exc:
        raise UnsafeHeaderValue(field, "not parseable as an address") from exc
    addresses: tuple[Address, ...] = getattr(header, "addresses", ())
    if parsed.addr_spec != address or header.defects or len(addresses) != 1:
        raise UnsafeHeaderValue(field, "does not parse as exactly one address")
    if addresses[0].addr_spec != address or addresses[0].display_name:
        raise UnsafeHeaderValue(field, "does not parse as exactly one address")


def validate_recipient(name: str, address: str) -> Address:
    """Both checks, then the header-ready `Address` (the policy RFC 2047-encodes the name)."""
    validate_display_name(name)
    validate_email_address(address)
    return Address(display_name=name, addr_spec=address)


def check_display_name(name: str) -> str:
    """A contact's name as entered: trimmed, 1 to 200 characters, safe in a header."""
    stripped = name.strip()
    if not stripped:
        raise UnsafeHeaderValue("name", "the name must hold 1 to 200 characters")
    return validate_display_name(stripped)


def check_address(address: str) -> str:
    """A contact's e-mail address: one plain `local@domain.tld`."""
    return validate_email_address(address)
