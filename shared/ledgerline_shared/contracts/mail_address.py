"""What may become part of an e-mail header: checked where contacts enter, and again before sending.

A contact's name or address holding CR, LF or NUL could add a header (`Bcc:`) to every invoice
e-mail; address lists (`,` `;`) or angle brackets could add recipients. Both are refused outright.
"""

from __future__ import annotations

import re
import unicodedata

_FORBIDDEN_ANYWHERE = re.compile(r"[\r\n\x00-\x1f\x7f]")
_NAME_FORBIDDEN = re.compile(r'[<>,;:"\\]')
# A practical address rule: local@domain.tld, ASCII, dot-separated atoms (no leading, trailing or
# doubled dot), no spaces, no quoting, no list separators.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*$")
_DOMAIN = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
# Line and paragraph separators, NEL, bidi overrides: invisible, or a line break to some readers.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}


class UnsafeHeaderValue(ValueError):
    pass


def check_display_name(name: str) -> str:
    if _FORBIDDEN_ANYWHERE.search(name) or any(
        unicodedata.category(c) in _INVISIBLE_CATEGORIES for c in name
    ):
        raise UnsafeHeaderValue("the name holds a control character (CR, LF...)")
    if _NAME_FORBIDDEN.search(name):
        raise UnsafeHeaderValue('the name may not hold < > , ; : " or \\')
    if not name.strip() or len(name) > 200:
        raise UnsafeHeaderValue("the name must hold 1 to 200 characters")
    return name.strip()


def check_address(address: str) -> str:
    if _FORBIDDEN_ANYWHERE.search(address):
        raise UnsafeHeaderValue("the address holds a control character (CR, LF...)")
    local, at, domain = address.rpartition("@")
    if (
        len(address) > 254
        or not at
        or len(local) > 64
        or not _LOCAL.match(local)
        or not _DOMAIN.match(domain)
    ):
        raise UnsafeHeaderValue(f"not a valid e-mail address: {address[:80]!r}")
    return address
