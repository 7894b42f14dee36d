"""SFTP login control: lockout after repeated failures (per user and per address) and the audit log.

Every attempt is a row of `sftp_login_attempts` and a `sftp login` log line (user, address, method,
outcome, reason). The SFTP server asks `refusal()` before checking a credential and `record()` after.
"""

from __future__ import annotations

import datetime as dt

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledgerline_export.adapters.sftp_login_log import FAILED, add_attempt, recent_failures
from ledgerline_export.domain.sftp_login_policy import LoginPolicy, locked_until

log = structlog.get_logger(__name__)

SUCCESS = "success"
REFUSED = "refused"  # not tried (locked out) or not allowed (revoked, expired): not counted


class SftpLoginGate:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], policy: LoginPolicy) -> None:
        self._sessions = sessions
        self.policy = policy

    async def refusal(self, username: str, address: str) -> str | None:
        """Why no credential of this user or from this address may be tried now, or None."""
        now = dt.datetime.now(dt.UTC)
        policy = self.policy
        since = now - policy.failure_window - policy.lockout
        async with self._sessions() as session:
            by_user = await recent_failures(
                session, since=since, limit=policy.max_failures_per_user, username=username
            )
            by_address = await recent_failures(
                session, since=since, limit=policy.max_failures_per_address, address=address
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
        async with self._sessions() as session, session.begin():
            await add_attempt(
                session,
                at=at,
                username=username,
                address=address,
                method=method,
                outcome=outcome,
                reason=reason,
            )
        log.info(
            "sftp login", username=username, address=address, method=method, outcome=outcome, reason=reason
        )


__all__ = ["FAILED", "REFUSED", "SUCCESS", "SftpLoginGate"]
