"""Use-case refusals that are not business rules: missing things and conflicts."""

from __future__ import annotations


class NotFound(Exception):
    def __init__(self, what: str, key: str, field: str | None = None) -> None:
        super().__init__(f"no {what} {key!r}")
        self.field = field or what


class Conflict(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
