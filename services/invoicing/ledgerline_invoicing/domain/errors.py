"""Domain refusals. Each names the input field at fault so the API can answer a 4xx naming it."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the request; nothing was changed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidMoney(DomainError):
    """An amount, quantity or VAT rate that no document may carry."""


class InvalidRatePlan(DomainError):
    """A rate plan or one of its rules cannot be used for rating."""


class InvalidPeriod(DomainError):
    """A billing period or a coverage interval that makes no sense."""


class InvalidNumber(DomainError):
    """A document number that does not follow PREFIX + YYYY + '-' + 6 digits."""


class InvalidBillingItem(DomainError):
    """A subscription or one-time item that may not be billed as given."""


class CreditRefused(DomainError):
    """A credit note or a cancellation that the invoice's state or amounts forbid."""
