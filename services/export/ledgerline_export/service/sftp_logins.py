"""SFTP login control: lockout after repeated failures (per user and per address) and the audit log.

Every attempt is a row of `sftp_login_attempts` and a `sftp login` log line (user, address, method,
outcome, reason). The SFTP server asks `refusal()` before checking a credential and `record()` after.
"""

from __future__ import annotations

import datetime as dt

import structlog

from ledgerline_export.domain.sftp_login_policy import FAILED, REFUSED, SUCCESS, LoginPolicy, locked_until
from ledgerline_export.service.unit_of_work import NewUnitOfWork

log = structlog.get_logger(__name__)


class SftpLoginGate:
    """Asked by every connection at once: one unit of work per question (`new_uow`)."""

    def __init__(self, new_uow: NewUnitOfWork, policy: LoginPolicy) -> None:
        self._new_uow = new_uow
        self.policy = policy

    async def refusal(self, username: str, address: str) -> str | None:
        """Why no credential of this user or from this address may be tried now, or None."""
        now = dt.datetime.now(dt.UTC)
        policy = self.policy
        since = now - policy.failure_window - policy.lockout
        async with self._new_uow() as uow:
            by_user = await uow.sftp_logins.recent_failures(
                since=since, limit=policy.max_failures_per_user, username=username
            )
            by_address = await uow.sftp_logins.recent_failures(
                since=since, limit=policy.max_failures_per_address, address=address
            )
        for failures, limit, what in (
            (by_user, policy.max_failures_per_user, "user"),
            (by_address, policy.max_failures_per_address, "address"),
        ):
            until = locked_until(failures, limit, policy, now)
            if until is not None:
                return f"{what} locked out until {until.isoformat(timespec='seconds')}"
        return None

    async def record(self, username: str, address: str, method: str, outcome: str, reason: str = "") -> None:
        at = dt.datetime.now(dt.UTC)
        async with self._new_uow() as uow:
            await uow.sftp_logins.add_attempt(
                at=at,
                username=username,
                address=address,
                method=method,
                outcome=outcome,
                reason=reason,
            )
            await uow.commit()
        log.info(
            "sftp login", username=username, address=address, method=method, outcome=outcome, reason=reason
        )


__all__ = ["FAILED", "REFUSED", "SUCCESS", "SftpLoginGate"]
