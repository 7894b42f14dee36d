"""Which failures are retried, and the capped exponential backoff with full jitter."""

from __future__ import annotations

import random

import pytest

from ledgerline_notification.domain.delivery_errors import (
    FailureKind,
    InvalidRecipientError,
    NoRecipientError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from ledgerline_notification.domain.retry_policy import (
    RetryPolicy,
    classify,
    classify_refusals,
    classify_reply,
)
from ledgerline_shared.contracts.mail_address import UnsafeHeaderValue
from ledgerline_shared.settings import Settings


class HighestDraw:
    """A random source that always draws the top of the range: shows the ceiling itself."""

    def uniform(self, a: float, b: float, /) -> float:
        return b


@pytest.mark.parametrize("code", [421, 450, 451, 452, 454])
def test_4xx_replies_are_temporary(code: int) -> None:
    assert classify_reply(code) is FailureKind.TEMPORARY


@pytest.mark.parametrize("code", [500, 501, 530, 535, 550, 552, 553, 554])
def test_5xx_replies_are_permanent(code: int) -> None:
    assert classify_reply(code) is FailureKind.PERMANENT


def test_all_recipients_refused_is_permanent_unless_one_refusal_is_temporary() -> None:
    assert classify_refusals([550, 553]) is FailureKind.PERMANENT
    assert classify_refusals([550, 451]) is FailureKind.TEMPORARY  # greylisting: try later


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (TemporaryDeliveryError("try later", code=451), True),
        (PermanentDeliveryError("no such user", code=550), False),
        (NoRecipientError(), False),
        (InvalidRecipientError("recipient 1 refused"), False),
        (UnsafeHeaderValue("email", "bad"), False),
        (ConnectionRefusedError(111, "Connection refused"), True),
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (KeyError("a bug, not a delivery failure"), False),
    ],
)
def test_should_retry_only_temporary_failures_inside_the_window(error: BaseException, retried: bool) -> None:
    policy = RetryPolicy(retry_for_s=900)
    assert policy.should_retry(error, elapsed=10.0) is retried
    assert policy.should_retry(error, elapsed=900.0) is False
    assert policy.should_retry(error, elapsed=5000.0) is False


def test_an_unknown_error_is_not_classified() -> None:
    assert classify(KeyError("x")) is None


def test_ceilings_grow_exponentially_and_are_capped() -> None:
    policy = RetryPolicy(retry_for_s=3600, base_delay_s=2.0, max_delay_s=60.0)
    delays = [policy.next_delay(attempt, HighestDraw()) for attempt in range(1, 9)]
    assert delays == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert policy.next_delay(10_000, HighestDraw()) == 60.0  # no overflow on a huge attempt count


def test_delays_are_jittered_within_zero_and_the_ceiling() -> None:
    policy = RetryPolicy(retry_for_s=3600, base_delay_s=1.0, max_delay_s=120.0)
    rng = random.Random(20260131)
    for attempt in range(1, 12):
        ceiling = policy.ceiling(attempt)
        draws = [policy.next_delay(attempt, rng) for _ in range(300)]
        assert all(0.0 <= delay <= ceiling for delay in draws)
        # Full jitter: spread over the whole range, not clustered at the ceiling.
        assert min(draws) < ceiling * 0.1 and max(draws) > ceiling * 0.9
    means = [sum(policy.next_delay(a, rng) for _ in range(2000)) / 2000 for a in (1, 3, 5)]
    assert means[0] < means[1] < means[2]


def test_the_same_seed_gives_the_same_delays() -> None:
    policy = RetryPolicy()
    first = [policy.next_delay(a, random.Random(7)) for a in range(1, 6)]
    again = [policy.next_delay(a, random.Random(7)) for a in range(1, 6)]
    assert first == again


def test_retries_stop_once_the_configured_time_has_passed() -> None:
    """A delivery that always fails temporarily, on a virtual clock."""
    policy = RetryPolicy.from_settings(Settings(smtp_retry_for_s=600.0))
    assert policy.retry_for_s == 600.0
    rng = random.Random(42)
    elapsed, attempts = 0.0, 1
    error = TemporaryDeliveryError("try later", code=451)
    while policy.should_retry(error, elapsed):
        elapsed += policy.next_delay(attempts, rng, elapsed=elapsed)
        attempts += 1
        assert attempts < 1000, "the retry loop must end"
    # The last delay is clipped to the deadline: the final try happens at the end of the window.
    assert elapsed == pytest.approx(600.0)
    assert attempts > 5


def test_a_delay_never_reaches_past_the_window() -> None:
    policy = RetryPolicy(retry_for_s=100, base_delay_s=50, max_delay_s=50)
    assert policy.next_delay(3, HighestDraw(), elapsed=90.0) == 10.0
    assert policy.next_delay(3, HighestDraw(), elapsed=150.0) == 0.0


@pytest.mark.parametrize(
    "arguments",
    [
        {"retry_for_s": -1},
        {"base_delay_s": 0},
        {"base_delay_s": 10, "max_delay_s": 5},
    ],
)
def test_a_nonsensical_policy_is_refused(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**arguments)


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError):
        RetryPolicy().next_delay(0, random.Random(1))
