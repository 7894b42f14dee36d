"""The sign-in throttle's rule: too many recent failures lock a username or an address for a while."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ThrottleRule:
    max_failures: int
    window_s: float
    lockout_s: float

    def recent(self, failures: Sequence[float], now: float) -> list[float]:
        """The failures still worth keeping: within the window, or keeping a lock in force."""
        keep = max(self.window_s, self.lockout_s)
        return sorted(t for t in failures if now - t < keep)

    def locked_until(self, failures: Sequence[float], now: float) -> float | None:
        """Locked when the last `max_failures` failures fell within one window, until the last + lockout."""
        times = sorted(failures)[-self.max_failures :]
        if len(times) < self.max_failures or times[-1] - times[0] > self.window_s:
            return None
        until = times[-1] + self.lockout_s
        return until if until > now else None


def minutes_left(until: float, now: float) -> int:
    return max(1, int(-(-(until - now) // 60)))
