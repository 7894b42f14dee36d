"""Reading a call record from its raw fields (a CSV line, a JSON object) as the `CallRecord` contract does,
at a fraction of the cost on the usual shapes.

A million records a run: pydantic's model validation cost more per record than rating it. The usual
record (text fields, an ISO 8601 instant with its offset, a whole duration, a plain decimal) is
recognised with a few exact type and pattern checks and read into a `CallFields` tuple; anything else,
valid or not, goes through `CallRecord.model_validate`, so every refusal and its message stay pydantic's
own. A fast-path record always has the values pydantic would give it (checked by the unit tests).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from ledgerline_shared.contracts.events import MAX_CALL_SECONDS, MAX_CALL_UNITS, CallKind, CallRecord

_FIELDS = frozenset(CallRecord.model_fields)
_KINDS = {kind.value: kind for kind in CallKind}
# YYYY-MM-DDTHH:MM:SS[.ffffff](+HH:MM|Z): what fromisoformat and pydantic read alike.
_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:[+-](?:[01]\d|2[0-3]):[0-5]\d|Z)")
_instant = _INSTANT.fullmatch
_fromisoformat = dt.datetime.fromisoformat
_PLAIN_DECIMAL = re.compile(r"\d{1,18}(?:\.\d{1,10})?")
_PLAIN_COUNT = re.compile(r"0|[1-9]\d{0,8}")
# The contract's length limits (CallRecord's Field(...)).
_MAX_ID, _MAX_ACCOUNT, _MAX_NUMBER = 128, 64, 64


class CallFields(NamedTuple):
    """A validated call record, as `CallRecord` holds it (a tuple: built a million times a run)."""

    cdr_id: str
    account: str
    started_at: dt.datetime
    kind: CallKind
    duration_s: int | None
    units: Decimal | None
    caller: str
    callee: str


class _Undecided:
    """A value of a shape the fast path does not read: pydantic decides."""


UNDECIDED = _Undecided()


def _count(value: Any) -> int | _Undecided | None:
    """A duration as pydantic reads it, on the usual shapes."""
    if value is None:
        return None
    if type(value) is int:
        count = value
    elif type(value) is str and _PLAIN_COUNT.fullmatch(value):
        count = int(value)
    else:
        return UNDECIDED
    # Out of the contract's bounds: pydantic words the refusal.
    return count if 0 <= count <= MAX_CALL_SECONDS else UNDECIDED


def _units(value: Any) -> Decimal | _Undecided | None:
    """Units (messages, megabytes) as pydantic reads them, on the usual shapes."""
    if value is None:
        return None
    if type(value) is str and _PLAIN_DECIMAL.fullmatch(value):
        units = Decimal(value)
    elif type(value) is Decimal and value.is_finite():
        units = value
    else:
        return UNDECIDED
    return units if -MAX_CALL_UNITS <= units <= MAX_CALL_UNITS else UNDECIDED


def parse_call_record(raw: Mapping[str, Any]) -> CallFields | CallRecord:
    """The record, or pydantic's ValidationError (from `CallRecord.model_validate`) when it is invalid.

    Runs once per record (a million a run): the raw mapping's `get` and the module's functions are
    bound once, and the usual duration (an `int` within bounds) is read without calling `_count`."""
    get = raw.get
    cdr_id = get("cdr_id")
    account = get("account")
    started = get("started_at")
    kind = _KINDS.get(get("kind"))  # type: ignore[arg-type]
    caller = get("caller", "")
    callee = get("callee", "")
    if (
        kind is not None
        and type(cdr_id) is str
        and type(account) is str
        and type(started) is str
        and type(caller) is str
        and type(callee) is str
        and 0 < len(cdr_id) <= _MAX_ID
        and 0 < len(account) <= _MAX_ACCOUNT
        and len(caller) <= _MAX_NUMBER
        and len(callee) <= _MAX_NUMBER
        and _instant(started)
        and raw.keys() <= _FIELDS
    ):
        duration: Any = get("duration_s")
        if duration is not None:
            duration = (
                duration if type(duration) is int and 0 <= duration <= MAX_CALL_SECONDS else _count(duration)
            )
        units: Any = get("units")
        if units is not None:
            units = _units(units)
        if duration is not UNDECIDED and units is not UNDECIDED:
            try:
                at = _fromisoformat(started)
            except ValueError:  # a day or an hour out of range: pydantic says which
                pass
            else:
                return CallFields(cdr_id, account, at, kind, duration, units, caller, callee)
    return CallRecord.model_validate(raw)
