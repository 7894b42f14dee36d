"""Refusals of the export use cases, each naming the request field it is about."""

from __future__ import annotations


class Refused(Exception):
    """The request cannot be carried out as asked (422)."""

    def __init__(self, field: str, message: str, where: str = "body") -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.where = where  # body | query | path


class NotFound(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Conflict(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
