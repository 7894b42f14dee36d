from ledgerline_backoffice.domain.throttle import ThrottleRule, minutes_left

RULE = ThrottleRule(max_failures=5, window_s=900, lockout_s=900)


def test_five_failures_in_the_window_lock_until_the_last_plus_the_lockout() -> None:
    failures = [0.0, 10.0, 20.0, 30.0, 40.0]
    assert RULE.locked_until(failures, now=41.0) == 940.0
    assert RULE.locked_until(failures, now=939.0) == 940.0
    assert RULE.locked_until(failures, now=940.0) is None


def test_four_failures_do_not_lock() -> None:
    assert RULE.locked_until([0.0, 1.0, 2.0, 3.0], now=4.0) is None


def test_failures_spread_wider_than_the_window_do_not_lock() -> None:
    assert RULE.locked_until([0.0, 300.0, 600.0, 900.0, 1200.0], now=1201.0) is None


def test_old_failures_are_forgotten() -> None:
    assert RULE.recent([1000.0, 0.0, 100.0], now=1050.0) == [1000.0]
    assert RULE.recent([1000.0, 0.0, 200.0], now=1050.0) == [200.0, 1000.0]


def test_minutes_left_rounds_up() -> None:
    assert minutes_left(940.0, 41.0) == 15
    assert minutes_left(100.0, 99.5) == 1
