"""When an SFTP login may even be tried: password age, revocation, and lockout after repeated failures.

Pure: the caller passes the account's state, the recent failures and the time. The most trusted
systems' rules (NIST SP 800-63B §5.2.2, OpenSSH's MaxAuthTries/PerSourcePenalties): failures are
counted per user and per source address over a sliding window; past a limit, every attempt of that
user or address is refused until the lockout has run from the last failure, the right password
included, so guessing cannot continue at a slower pace.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

# Outcomes of a login attempt in the audit log. Only failures count towards the lockout; a refusal
# (locked out, revoked, expired) was not a guess at a credential.
SUCCESS = "success"
FAILED = "failed"
REFUSED = "refused"


@dataclass(frozen=True)
class LoginPolicy:
    password_max_age: dt.timedelta = dt.timedelta(days=90)
    max_failures_per_user: int = 5
    max_failures_per_address: int = 20  # an office behind one NAT address shares this budget
    failure_window: dt.timedelta = dt.timedelta(minutes=15)
    lockout: dt.timedelta = dt.timedelta(minutes=15)


def password_expires_at(policy: LoginPolicy, issued_at: dt.datetime | None) -> dt.datetime | None:
    return issued_at + policy.password_max_age if issued_at is not None else None


def password_expired(policy: LoginPolicy, issued_at: dt.datetime | None, now: dt.datetime) -> bool:
    """A password without an issue date is treated as expired: its age cannot be shown to be fine."""
    expires = password_expires_at(policy, issued_at)
    return expires is None or now >= expires


def locked_until(
    failures: Sequence[dt.datetime], limit: int, policy: LoginPolicy, now: dt.datetime
) -> dt.datetime | None:
    """When the lockout of one user or one address ends, or None when attempts are allowed now.

    `failures`: the failed attempts' times (any order). Locked when `limit` of them fall inside one
    window ending at the latest; the lockout runs from that latest failure.
    """
    if limit <= 0 or len(failures) < limit:
        return None
    recent = sorted(failures)[-limit:]
    if recent[-1] - recent[0] > policy.failure_window:
        return None
    until = recent[-1] + policy.lockout
    return until if now < until else None
