"""Which failures will pass: the consumer retries those for minutes and dead-letters the rest.

A failure is transient when the infrastructure, not the message, is at fault: the database cannot be
reached or dropped the connection, the process pool that renders PDFs broke, a connection timed out.
The classification is explicit and looks through the exception's causes, since SQLAlchemy and the
drivers wrap one another's errors.
"""

from __future__ import annotations

from concurrent.futures.process import BrokenProcessPool

from sqlalchemy import exc as sa_exc

_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,  # connection refused, server shut down, serialisation/lock timeouts
    sa_exc.InterfaceError,  # the connection was closed under the driver
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # no connection free in the pool
    ConnectionError,  # refused, reset, aborted
    TimeoutError,
    BrokenProcessPool,  # a render worker died; the pool is rebuilt
)


def _asyncpg_transient() -> tuple[type[BaseException], ...]:
    try:
        import asyncpg
    except ImportError:  # a service on SQLite only
        return ()
    return (
        asyncpg.exceptions.PostgresConnectionError,  # cannot connect now, too many connections
        asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, crash shutdown
        asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
        asyncpg.exceptions.InterfaceError,  # connection lost mid-query
    )


_TRANSIENT = _TRANSIENT_TYPES + _asyncpg_transient()


class RetryLater(Exception):
    """Handling failed for a transient reason: read the message again after `delay_s` seconds."""

    def __init__(self, delay_s: float, error: str) -> None:
        super().__init__(error)
        self.delay_s = delay_s


def is_transient(exc: BaseException) -> bool:
    """True when `exc`, or what caused it, is an infrastructure failure expected to pass."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _TRANSIENT):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return False
