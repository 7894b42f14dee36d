"""When a failed delivery is tried again, and after how long (spec section 7).

Temporary: the server could not be reached or hung up, timed out, or answered 4xx. Permanent: a
5xx answer, no recipient, an address refused by contracts/mail_address or by every RCPT with 5xx.
Delays are exponential with full jitter (a uniform draw between 0 and the capped exponential),
so deliveries that failed together do not all come back at the same second. Pure: the clock
(`elapsed`) and the random source (`rng`) are the caller's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from ledgerline_notification.domain.delivery_errors import DeliveryError, FailureKind
from ledgerline_shared.contracts.mail_address import UnsafeHeaderValue
from ledgerline_shared.settings import Settings


class UniformSource(Protocol):
    """What `random.Random` offers and the policy needs."""

    def uniform(self, a: float, b: float, /) -> float: ...


def classify_reply(code: int) -> FailureKind:
    """4xx is "try again later" (RFC 5321 4.2.1); anything else that is an error is final."""
    return FailureKind.TEMPORARY if 400 <= code < 500 else FailureKind.PERMANENT


def classify_refusals(codes: Iterable[int]) -> FailureKind:
    """Every RCPT refused: final if all refusals are 5xx; one 4xx (greylisting, full mailbox)
    means the same delivery may succeed later."""
    kinds = {classify_reply(code) for code in codes}
    return FailureKind.TEMPORARY if FailureKind.TEMPORARY in kinds else FailureKind.PERMANENT


def classify(error: BaseException) -> FailureKind | None:
    """The kind of a failure, or None for an error that is not a delivery failure (a bug)."""
    if isinstance(error, DeliveryError):
        return error.kind
    if isinstance(error, UnsafeHeaderValue):
        return FailureKind.PERMANENT
    # Refused or reset connections, timeouts, TLS handshakes cut short: the network, not the mail.
    if isinstance(error, (ConnectionError, TimeoutError, OSError)):
        return FailureKind.TEMPORARY
    return None


@dataclass(frozen=True)
class RetryPolicy:
    retry_for_s: float = 900.0  # total time a delivery keeps being retried
    base_delay_s: float = 2.0  # the ceiling of the first delay
    max_delay_s: float = 300.0  # the ceiling never grows past this

    def __post_init__(self) -> None:
        if self.retry_for_s < 0 or self.base_delay_s <= 0 or self.max_delay_s < self.base_delay_s:
            raise ValueError("retry_for_s >= 0 and 0 < base_delay_s <= max_delay_s are required")

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: float) -> RetryPolicy:
        return cls(retry_for_s=settings.smtp_retry_for_s, **overrides)

    def ceiling(self, attempt: int) -> float:
        """The largest delay after failed attempt number `attempt` (1 for the first failure)."""
        if attempt < 1:
            raise ValueError("attempt counts failed attempts and starts at 1")
        # Capped before exponentiating so a large attempt number cannot overflow a float.
        exponent = min(attempt - 1, 64)
        return float(min(self.max_delay_s, self.base_delay_s * 2.0**exponent))

    def next_delay(self, attempt: int, rng: UniformSource, elapsed: float | None = None) -> float:
        """Seconds to wait after failed attempt `attempt`: uniform in [0, ceiling(attempt)].

        With `elapsed` (seconds since the first attempt), the wait never goes past the end of
        the retry window, so the last try happens at the deadline rather than being skipped.
        """
        delay = rng.uniform(0.0, self.ceiling(attempt))
        if elapsed is not None:
            delay = min(delay, max(0.0, self.retry_for_s - elapsed))
        return delay

    def should_retry(self, error: BaseException, elapsed: float) -> bool:
        """Try again only a temporary failure, and only while inside the retry window."""
        return classify(error) is FailureKind.TEMPORARY and elapsed < self.retry_for_s
