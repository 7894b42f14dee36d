"""Recent sign-in failures per key (a username or an address), in this process's memory.

One back-office instance: a restart forgets the failures (decisions.md). Keys with nothing recent are
pruned as they are touched, and the whole map is capped so a flood of usernames cannot exhaust memory.
"""

from __future__ import annotations

from collections import OrderedDict


class FailureStore:
    def __init__(self, max_keys: int = 100_000) -> None:
        self._failures: OrderedDict[str, list[float]] = OrderedDict()
        self._max_keys = max_keys

    def get(self, key: str) -> list[float]:
        return list(self._failures.get(key, ()))

    def put(self, key: str, failures: list[float]) -> None:
        if failures:
            self._failures[key] = failures
            self._failures.move_to_end(key)
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)
        else:
            self._failures.pop(key, None)
