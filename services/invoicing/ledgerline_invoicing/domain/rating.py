"""Rating one call record against the client's rate plan.

Matching. The callee is normalised first: spaces and the separators - . ( ) are dropped, a leading
'+' is dropped, and a leading '00' (the international call prefix) is dropped too, so '+33 6 12',
'0033612' and '33612' are the same international number and a plan addresses it by country code
('336'). A national number keeps its single leading '0' ('0612...') and is matched by national
prefixes ('06'): no country is guessed. Among the rules of the record's kind, the longest prefix
of the normalised callee wins; an empty prefix is a catch-all (e.g. for data sessions with no
callee). A voice or SMS callee left with anything but digits is unratable; a data session's
non-numeric callee (an access point name) matches only the catch-all rule.

Pricing, per kind:
- voice: unit_price is per MINUTE. Billable seconds: 0 for an unanswered call (duration 0);
  otherwise the first increment, then the remainder rounded up to the next increment
  ("60/60": 61 s -> 120 s; "1/1": per second; "30/30"; "60/1": one minute then per second).
  cost = billable_s / 60 x unit_price + connection_fee, the fee only when the call lasted (> 0 s).
- sms: unit_price per message; units = messages (1 when the record gives none; whole numbers).
- data: unit_price per megabyte; units = MB (required, may be fractional).
  The increment and the connection fee apply to voice only.
Each call's cost is kept at 4 decimals (half-up) for the consumption detail; invoice lines are
built per destination by `consumption`, not by adding these rounded costs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from ledgerline_invoicing.domain.errors import InvalidRatePlan
from ledgerline_shared.contracts.events import CallKind

COST_QUANTUM = Decimal("0.0001")
SECONDS_PER_MINUTE = 60
# Why a record is kept unrated when the account itself is the problem (stored with the record).
UNKNOWN_ACCOUNT = "unknown account"  # no client has this code
NO_RATE_PLAN = "no rate plan for account"  # the client has no rate plan
_SEPARATORS = re.compile(r"[\s\-.()]")
# Constants of the per-record path (a million records a minute: no Decimal built per call for them).
_ZERO = Decimal("0")
_ONE = Decimal(1)
_VOICE_COSTS_KEPT = 10_000  # per rule: "1/1" increments give one entry per second of duration
_MATCHES_KEPT = 200_000  # per plan: (kind, leading digits) -> rule


class CallLike(Protocol):
    """What rating reads of a call record (the shared CallRecord or a stored row)."""

    @property
    def cdr_id(self) -> str: ...

    @property
    def account(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def duration_s(self) -> int | None: ...

    @property
    def units(self) -> Decimal | None: ...

    @property
    def callee(self) -> str: ...


@dataclass(frozen=True)
class Increment:
    """Billing increment of voice calls: the first `first` seconds, then steps of `next` seconds."""

    first: int
    next: int

    def __post_init__(self) -> None:
        if self.first < 1 or self.next < 1:
            raise InvalidRatePlan("increment", "both increments must be at least 1 second")

    @classmethod
    def parse(cls, text: str) -> Increment:
        """'60/60' -> Increment(60, 60); refuses anything but two positive whole seconds."""
        match = re.fullmatch(r"\s*(\d{1,5})\s*/\s*(\d{1,5})\s*", text)
        if match is None:
            raise InvalidRatePlan("increment", f"expected 'first/next' seconds such as '60/60', got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    def billable_seconds(self, duration_s: int) -> int:
        if duration_s <= 0:
            return 0
        if duration_s <= self.first:
            return self.first
        steps = -(-(duration_s - self.first) // self.next)  # ceiling division on ints
        return self.first + steps * self.next

    def __str__(self) -> str:
        return f"{self.first}/{self.next}"


# What rating gives for one record, in a plain tuple (a million records: no object per record):
# (rule, billable seconds, units, connection fee, cost). An unratable record gives the reason instead.
Rating = tuple["RateRule", int, Decimal, Decimal, Decimal]


@dataclass(frozen=True)
class RateRule:
    prefix: str
    label: str
    kind: CallKind
    unit_price: Decimal
    connection_fee: Decimal = Decimal("0")
    increment: Increment = Increment(60, 60)
    # Cost of a call by billable seconds: a plan's voice calls share a few billable durations
    # (whole minutes under "60/60"), and the Decimal arithmetic is most of rating's time.
    _voice_costs: dict[int, Decimal] = field(init=False, repr=False, compare=False)
    _one_unit_cost: Decimal = field(init=False, repr=False, compare=False)
    _voice_ratings: dict[int, Rating] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_voice_costs", {})
        object.__setattr__(self, "_voice_ratings", {})
        if not re.fullmatch(r"\d{0,20}", self.prefix):
            raise InvalidRatePlan(
                "prefix", f"a prefix is digits only (country code, no '+'), got {self.prefix!r}"
            )
        if not self.label.strip():
            raise InvalidRatePlan("label", "a rule needs a destination label")
        object.__setattr__(self, "kind", CallKind(self.kind))
        for name in ("unit_price", "connection_fee"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise InvalidRatePlan(name, f"must be a Decimal >= 0, got {value!r}")
        one = (_ONE * self.unit_price).quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)
        object.__setattr__(self, "_one_unit_cost", one)

    def voice_cost(self, billable_s: int) -> Decimal:
        """billable_s / 60 x unit price, plus the connection fee when the call lasted, to 4 decimals."""
        cost = self._voice_costs.get(billable_s)
        if cost is None:
            fee = self.connection_fee if billable_s > 0 else _ZERO
            exact = Decimal(billable_s) * self.unit_price / SECONDS_PER_MINUTE + fee
            cost = exact.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)
            if len(self._voice_costs) < _VOICE_COSTS_KEPT:
                self._voice_costs[billable_s] = cost
        return cost

    def voice_rating(self, duration_s: int) -> Rating:
        """A voice call of that duration (>= 0): billable seconds, fee and cost, remembered per duration
        (calls last a few thousand distinct seconds)."""
        rating = self._voice_ratings.get(duration_s)
        if rating is None:
            billable = self.increment.billable_seconds(duration_s)
            # A call that lasted has at least one billable second: the fee goes with billable_s > 0.
            fee = self.connection_fee if duration_s > 0 else _ZERO
            rating = (self, billable, _ZERO, fee, self.voice_cost(billable))
            if len(self._voice_ratings) < _VOICE_COSTS_KEPT:
                self._voice_ratings[duration_s] = rating
        return rating

    def unit_cost(self, units: Decimal) -> Decimal:
        """units x unit price (messages, megabytes), to 4 decimals; one message's cost is known."""
        if units is _ONE:
            return self._one_unit_cost
        return (units * self.unit_price).quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class RatePlan:
    code: str
    rules: Sequence[RateRule]
    _by_kind: dict[CallKind, dict[str, RateRule]] = field(init=False, repr=False, compare=False)
    _longest: int = field(init=False, repr=False, compare=False)
    _matched: dict[tuple[CallKind, str], RateRule | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        seen: set[tuple[str, CallKind]] = set()
        for index, rule in enumerate(self.rules):
            key = (rule.prefix, rule.kind)
            if key in seen:
                raise InvalidRatePlan(
                    f"rules[{index}].prefix", f"prefix {rule.prefix!r} appears twice for {rule.kind.value}"
                )
            seen.add(key)
        # A dict per kind, prefix -> rule: matching tries the callee's own prefixes, longest first,
        # instead of scanning every rule (rating a million records a minute depends on it).
        by_kind: dict[CallKind, dict[str, RateRule]] = {kind: {} for kind in CallKind}
        for rule in self.rules:
            by_kind[rule.kind][rule.prefix] = rule
        longest = max((len(r.prefix) for r in self.rules), default=0)
        object.__setattr__(self, "_by_kind", by_kind)
        object.__setattr__(self, "_longest", longest)
        # The match depends only on the callee's first `longest` digits: remembered per (kind, those
        # digits), a few thousand keys for a real plan, bounded below.
        object.__setattr__(self, "_matched", {})

    def match(self, kind: CallKind, callee: str) -> RateRule | None:
        """Longest prefix of the (normalised) callee among the rules of that kind."""
        key = (kind, callee[: self._longest])
        matched = self._matched
        if key in matched:
            return matched[key]
        rules = self._by_kind[kind]
        found = None
        for length in range(min(len(callee), self._longest), -1, -1):
            found = rules.get(callee[:length])
            if found is not None:
                break
        if len(matched) < _MATCHES_KEPT:
            matched[key] = found
        return found


@dataclass(frozen=True, slots=True)  # one per call record: no __dict__ to build
class RatedCall:
    cdr_id: str
    kind: CallKind
    label: str
    prefix: str
    unit_price: Decimal
    duration_s: int  # as recorded (voice), 0 otherwise
    billable_s: int  # after increments (voice), 0 otherwise
    units: Decimal  # messages or MB; 0 for voice
    connection_fee: Decimal  # charged on this call (0 when unanswered or not voice)
    cost: Decimal  # 4 decimals

    @property
    def quantity(self) -> Decimal:
        """Billable minutes (voice) or units (sms, data), exact."""
        if self.kind is CallKind.VOICE:
            return Decimal(self.billable_s) / SECONDS_PER_MINUTE
        return self.units


@dataclass(frozen=True, slots=True)  # one per call record: no __dict__ to build
class Unratable:
    cdr_id: str
    reason: str


def billed_units(kind: CallKind, units: Decimal | None) -> Decimal:
    """The units a rated record is billed for: as recorded; an SMS record that gives none is one
    message (voice is billed by its seconds: 0)."""
    if units is None:
        return _ONE if kind is CallKind.SMS else _ZERO
    return units


def normalise_callee(callee: str) -> str:
    """'+33 6 12-34' -> '3361234'; '0033...' -> '33...'; national '06...' unchanged."""
    # Most callees are '+' and digits: no separator to drop, no regex to run.
    number = callee if callee.lstrip("+").isdecimal() else _SEPARATORS.sub("", callee)
    if number.startswith("+"):
        return number[1:]
    if number.startswith("00"):
        return number[2:]
    return number


def rate_fields(
    plan: RatePlan | None,
    kind: CallKind | str,
    callee: str | None,
    duration_s: int | None,
    units: Decimal | None,
) -> Rating | str:
    """Price one record from its fields, or say why it cannot be priced (the record is kept either way)."""
    if plan is None:
        return NO_RATE_PLAN
    if not isinstance(kind, CallKind):
        try:
            kind = CallKind(kind)
        except ValueError:
            return f"unknown kind {kind!r}"
    if callee and callee[0] == "+" and callee[1:].isdecimal():
        number = callee[1:]  # the usual '+<digits>': normalise_callee's answer, without the call
    else:
        number = normalise_callee(callee or "")
    # isdecimal() is exactly regex \d on str (Unicode category Nd), without the regex machinery.
    if number and not number.isdecimal():
        if kind is not CallKind.DATA:
            return f"malformed callee {callee!r}"
        number = ""  # an access point name ('internet'): only a catch-all data rule applies
    rule = plan.match(kind, number)
    if rule is None:
        return "no matching prefix"
    if kind is CallKind.VOICE:
        if duration_s is None:
            return "missing duration"
        if duration_s < 0:
            return "negative duration"
        return rule.voice_rating(duration_s)
    if units is None:
        if kind is CallKind.DATA:
            return "missing units"
        one = billed_units(kind, None)  # one message
        return (rule, 0, one, _ZERO, rule.unit_cost(one))
    if not isinstance(units, Decimal):
        units = Decimal(units)
    if not units.is_finite() or units < 0:
        return "negative units"
    if kind is CallKind.SMS and units != units.to_integral_value():
        return "fractional message count"
    return (rule, 0, units, _ZERO, rule.unit_cost(units))


def rate_call(plan: RatePlan | None, record: CallLike) -> RatedCall | Unratable:
    """Price one record, or say why it cannot be priced (the record is kept either way)."""
    rated = rate_fields(plan, record.kind, record.callee, record.duration_s, record.units)
    if isinstance(rated, str):
        return Unratable(record.cdr_id, rated)
    rule, billable, units, fee, cost = rated
    voice = rule.kind is CallKind.VOICE
    return RatedCall(
        record.cdr_id,
        rule.kind,
        rule.label,
        rule.prefix,
        rule.unit_price,
        record.duration_s or 0 if voice else 0,
        billable,
        units,
        fee,
        cost,
    )
